/* displays.h -- the set of known display names (--displays FILE). */
#ifndef SSE_DISPLAYS_H
#define SSE_DISPLAYS_H

#include <stdbool.h>
#include <stddef.h>

struct displays;

/* Reads one name a line from path; blank lines and lines starting with '#'
 * are skipped, surrounding white space is trimmed.  Returns the set, or NULL
 * with a message in err (errlen bytes) if the file cannot be read or holds
 * an invalid name (the message names the line). */
struct displays *displays_load(const char *path, char *err, size_t errlen);

/* A set is shared, read-only, by reference: displays_hold() adds one,
 * displays_free() drops one and frees the set with the last.  NULL does
 * nothing. */
struct displays *displays_hold(struct displays *d);
void displays_free(struct displays *d);

/* True if name is in d. */
bool displays_contains(const struct displays *d, const char *name);

size_t displays_count(const struct displays *d);

/* Remembers that the stream of display name (if it is in d) closed at
 * at_ms, wall clock.  Lock-free. */
void displays_seen(struct displays *d, const char *name, int64_t at_ms);

/* When the stream of the i-th display last closed (0: not since the start,
 * or since the name came with a reload). */
int64_t displays_last_seen(const struct displays *d, size_t i);

/* The i-th name in sorted order, i < displays_count(d). */
const char *displays_name(const struct displays *d, size_t i);

/* The set in use, which a reload (SIGHUP) swaps while requests read it:
 * a reader takes a reference (displays_slot_get) and drops it when done,
 * so no lock is held while it reads.  Thread safe. */
struct displays_slot;

/* Returns an empty slot (no set: any valid name), or NULL when out of
 * memory. */
struct displays_slot *displays_slot_create(void);

/* Drops the slot's set.  NULL does nothing. */
void displays_slot_free(struct displays_slot *slot);

/* Puts d (NULL: none) in, taking over the caller's reference, and drops
 * the old set's; d keeps what the old set had seen of names both hold. */
void displays_slot_set(struct displays_slot *slot, struct displays *d);

/* The set in use, with a reference for the caller (displays_free it), or
 * NULL if there is none. */
struct displays *displays_slot_get(struct displays_slot *slot);

/* True if the slot has a set (--displays).  Lock-free. */
bool displays_slot_has(struct displays_slot *slot);

#endif

/* displays.h -- the known displays (--displays FILE) and their keys.
 *
 * The file has one display a line: its name, or its name and its key
 * after white space.  A key is 16-128 characters without white space
 * (printable ASCII), or "sha256:" and the 64 hex digits of the SHA-256 of
 * the key, for a file that should not hold the key itself.  A display
 * with a key opens only with it (?key=); keys are kept as digests and
 * compared in constant time, and no message ever holds one. */
#ifndef SSE_DISPLAYS_H
#define SSE_DISPLAYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct displays;

#define DISPLAYS_KEY_MIN 16
#define DISPLAYS_KEY_MAX 128

/* Reads the file at path: one display a line, "name" or "name key"; blank
 * lines and lines starting with '#' are skipped, surrounding white space is
 * trimmed.  A name listed twice is the same display, unless its two lines
 * give different keys.  Returns the set, or NULL with a one-line message in
 * err (errlen bytes) if the file cannot be read or a line is bad (the
 * message names the file and the line, never a key). */
struct displays *displays_load(const char *path, char *err, size_t errlen);

/* Checks one line of a displays file (without its newline), as
 * displays_load() does.  Returns 0 (a display, or a blank or comment line),
 * or -1 with *why (static text) saying what is wrong with it.  For the fuzz
 * target and the tests. */
int displays_check_line(const char *line, size_t len, const char **why);

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

/* How many displays of d have a key. */
size_t displays_keyed(const struct displays *d);

/* The i-th name in sorted order, i < displays_count(d). */
const char *displays_name(const struct displays *d, size_t i);

/* What a key presented for a display is worth. */
enum displays_key {
    DISPLAYS_KEY_NONE,          /* the display has no key (anything presented is ignored) */
    DISPLAYS_KEY_OK,            /* the display's key */
    DISPLAYS_KEY_MISSING,       /* the display has a key and none was presented */
    DISPLAYS_KEY_WRONG          /* the display has a key and this is not it */
};

/* Checks key (len bytes; NULL or len 0: none presented) against the key of
 * display name, which must be in d.  The comparison takes the same time
 * whatever the key and wherever it differs. */
enum displays_key displays_check_key(const struct displays *d, const char *name,
                                     const char *key, size_t len);

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

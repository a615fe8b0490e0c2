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

/* NULL does nothing. */
void displays_free(struct displays *d);

/* True if name is in d.  Not thread safe against displays_free: callers
 * hold the lock that guards their pointer to d. */
bool displays_contains(const struct displays *d, const char *name);

size_t displays_count(const struct displays *d);

/* The i-th name in sorted order, i < displays_count(d). */
const char *displays_name(const struct displays *d, size_t i);

#endif

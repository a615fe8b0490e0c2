/* json_strict.h -- JSON as RFC 8259 has it, and no more.
 *
 * json-c, even in its strict mode, lets through what JSON does not have:
 * bytes that are not UTF-8, raw control characters in strings, numbers
 * such as "-01" or "1.", bare words like NaN, single-quoted keys, and bytes
 * outside strings that JSON has only inside them, lone surrogate escapes
 * (which it turns into U+FFFD) and a key given twice in one object (it
 * keeps the last).  A body is scanned for those first; json-c then judges
 * the structure, and what it built is checked against the keys the scan
 * counted.  Strings holding \u0000 are refused too: C strings would cut
 * them short (a token or a name would be checked short of what was sent).
 *
 * Pure: no I/O, no locks. */
#ifndef SSE_JSON_STRICT_H
#define SSE_JSON_STRICT_H

#include <stddef.h>

#include <json-c/json.h>

/* Parses len bytes as one JSON value with blanks around it, nested at most
 * max_depth deep (as json-c counts).  Returns the value (caller puts it;
 * JSON null is refused), or NULL with *err set to a message for a 400
 * ("Malformed JSON..."). */
struct json_object *json_strict_parse(const char *buf, size_t len, int max_depth,
                                      const char **err);

#endif

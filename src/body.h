/* body.h -- the request bodies of the POST routes: content type, strict
 * JSON, and each route's fields.
 *
 * Pure: no FastCGI types, no I/O, no locks, so tests and the fuzz targets
 * reach every branch without a server.  Reading a body from the request is
 * http.c's. */
#ifndef SSE_BODY_H
#define SSE_BODY_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#define MESSAGE_MAX_LEN 1024        /* test-event message */

/* True if a Content-Type (NULL or "" allowed) is acceptable for a JSON body:
 * absent, application/json or text/plain (what sendBeacon sends), with any
 * parameters. */
bool body_content_type_ok(const char *content_type);

/* Parses a request body that must be a JSON object: strict JSON
 * (json_strict.h), no NUL byte, nesting at most 32 deep.  Returns the object
 * (caller puts it), or NULL with *err set to a message for a 400. */
struct json_object *body_parse(const char *buf, size_t len, const char **err);

/* {"connection_id": "<token>"}: returns 0 and points *id into root, or -1
 * with *err for a 400. */
int body_disconnect(struct json_object *root, const char **id, const char **err);

/* {"connection_id": "<token>", "seq": <integer >= 1>}: returns 0, or -1
 * with *err for a 400. */
int body_ack(struct json_object *root, const char **id, unsigned long long *seq,
             const char **err);

struct test_request {
    const char *type;               /* validated name; default "test_event" */
    const char *message;            /* NULL: the handler writes its default */
};

/* {"type"?: name, "message"?: string}: returns 0, or -1 with *err. */
int body_test(struct json_object *root, struct test_request *t, const char **err);

struct publish_request {
    const char *event;              /* validated name */
    struct json_object *data;       /* borrowed from root; may be NULL */
    int target;                     /* -1 all, else enum conn_type */
    const char *display;            /* NULL: every display */
    const char *user;               /* NULL: every admin */
};

/* {"event", "data"?, "target"?, "display"?, "user"?}: returns 0, or -1 with
 * *err. */
int body_publish(struct json_object *root, struct publish_request *p, const char **err);

#endif

/* body.c -- request bodies of the POST routes (see body.h). */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "body.h"
#include "conn.h"
#include "json_strict.h"
#include "routes.h"

#define BODY_MAX_DEPTH 32

bool body_content_type_ok(const char *ct)
{
    if (!ct || !*ct)
        return true;
    while (*ct == ' ')
        ct++;
    size_t n = strcspn(ct, "; \t");
    return (n == 16 && strncasecmp(ct, "application/json", n) == 0) ||
           (n == 10 && strncasecmp(ct, "text/plain", n) == 0);
}

struct json_object *body_parse(const char *buf, size_t len, const char **err)
{
    size_t i = 0;
    while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
        i++;
    if (i == len) {
        *err = "Request body is empty";
        return NULL;
    }
    if (memchr(buf, '\0', len)) {
        *err = "Request body contains a NUL byte";
        return NULL;
    }
    struct json_object *root = json_strict_parse(buf, len, BODY_MAX_DEPTH, err);
    if (root && !json_object_is_type(root, json_type_object)) {
        *err = "Request body must be a JSON object";
        json_object_put(root);
        return NULL;
    }
    return root;
}

/* Looks up key; returns 0 with *out NULL if absent or null, 0 with the
 * string if it is one, -1 if it is anything else. */
static int opt_string(struct json_object *root, const char *key, const char **out)
{
    struct json_object *v;
    *out = NULL;
    if (!json_object_object_get_ex(root, key, &v) || !v)
        return 0;
    if (!json_object_is_type(v, json_type_string))
        return -1;
    *out = json_object_get_string(v);
    return 0;
}

/* An optional string field that must also be a valid name. */
static int opt_name(struct json_object *root, const char *key, const char **out)
{
    if (opt_string(root, key, out) < 0)
        return -1;
    if (*out && !routes_valid_name(*out, strlen(*out)))
        return -1;
    return 0;
}

int body_disconnect(struct json_object *root, const char **id, const char **err)
{
    struct json_object *v;
    if (!json_object_object_get_ex(root, "connection_id", &v) || !v) {
        *err = "connection_id is required";
        return -1;
    }
    if (!json_object_is_type(v, json_type_string)) {
        *err = "connection_id must be a string";
        return -1;
    }
    if (json_object_get_string_len(v) == 0) {
        *err = "connection_id must not be empty";
        return -1;
    }
    *id = json_object_get_string(v);
    return 0;
}

int body_ack(struct json_object *root, const char **id, unsigned long long *seq,
                    const char **err)
{
    if (body_disconnect(root, id, err) < 0)
        return -1;
    struct json_object *v;
    if (!json_object_object_get_ex(root, "seq", &v) || !json_object_is_type(v, json_type_int)) {
        *err = "seq must be an integer of at least 1";
        return -1;
    }
    int64_t n = json_object_get_int64(v);      /* saturates: INT64_MAX is "too big" */
    if (n < 1 || n == INT64_MAX) {
        *err = "seq must be an integer of at least 1";
        return -1;
    }
    *seq = (unsigned long long)n;
    return 0;
}

int body_test(struct json_object *root, struct test_request *t, const char **err)
{
    if (opt_name(root, "type", &t->type) < 0) {
        *err = "type must be 1-64 characters of A-Z a-z 0-9 . _ -";
        return -1;
    }
    if (!t->type)
        t->type = "test_event";
    if (opt_string(root, "message", &t->message) < 0) {
        *err = "message must be a string";
        return -1;
    }
    if (t->message && strlen(t->message) > MESSAGE_MAX_LEN) {
        *err = "message is longer than 1024 bytes";
        return -1;
    }
    return 0;
}

int body_publish(struct json_object *root, struct publish_request *p, const char **err)
{
    const char *target;
    memset(p, 0, sizeof *p);
    if (opt_name(root, "event", &p->event) < 0 || !p->event) {
        *err = "event is required: 1-64 characters of A-Z a-z 0-9 . _ -";
        return -1;
    }
    json_object_object_get_ex(root, "data", &p->data);
    if (opt_string(root, "target", &target) < 0) {
        *err = "target must be \"admin\", \"display\" or \"all\"";
        return -1;
    }
    if (!target || strcmp(target, "all") == 0) {
        p->target = -1;
    } else if (strcmp(target, "admin") == 0) {
        p->target = CONN_ADMIN;
    } else if (strcmp(target, "display") == 0) {
        p->target = CONN_DISPLAY;
    } else {
        *err = "target must be \"admin\", \"display\" or \"all\"";
        return -1;
    }
    if (opt_name(root, "display", &p->display) < 0) {
        *err = "display must be 1-64 characters of A-Z a-z 0-9 . _ -";
        return -1;
    }
    if (opt_string(root, "user", &p->user) < 0 || (p->user && !*p->user)) {
        *err = "user must be a non-empty string";
        return -1;
    }
    if (p->display && p->target == CONN_ADMIN) {
        *err = "display cannot be combined with target \"admin\"";
        return -1;
    }
    if (p->user && p->target == CONN_DISPLAY) {
        *err = "user cannot be combined with target \"display\"";
        return -1;
    }
    if (p->display && p->user) {
        *err = "give display or user, not both";
        return -1;
    }
    return 0;
}

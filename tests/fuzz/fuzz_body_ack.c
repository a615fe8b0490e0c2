/* fuzz_body_ack.c -- POST {prefix}/ack: body_parse then
 * body_ack, checked against docs/api.md written out again:
 * "connection_id" a non-empty string, "seq" an integer of at least 1 (and
 * below 2^63 - 1, where json-c saturates).  Input: the raw body. */
#include "autoconf.h"

#include <limits.h>
#include <stdint.h>

#include "fuzz_body.h"

/* seq from its JSON text, not from json-c's integer: 0 unless it is a plain
 * decimal integer from 1 to INT64_MAX - 1. */
static unsigned long long ref_seq(struct json_object *root)
{
    struct json_object *v;
    if (!json_object_object_get_ex(root, "seq", &v) || !json_object_is_type(v, json_type_int))
        return 0;
    const char *s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
    unsigned long long n = 0;
    if (!*s)
        return 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || n > (ULLONG_MAX - 9) / 10)
            return 0;
        n = n * 10 + (unsigned)(*s - '0');
    }
    return n >= 1 && n < INT64_MAX ? n : 0;
}

FUZZ_TARGET(body_ack)
{
    struct json_object *root = fuzz_body_parse(data, size);
    if (!root)
        return 0;

    const char *want_id, *id = NULL, *err = NULL;
    int kind = fuzz_json_string(root, "connection_id", &want_id);
    bool id_ok = kind == 1 && json_object_get_string_len(
                     json_object_object_get(root, "connection_id")) > 0;
    unsigned long long want_seq = ref_seq(root), seq = 0xa5a5a5a5;
    int rc = body_ack(root, &id, &seq, &err);
    if (rc == 0) {
        FUZZ_CHECK(id_ok && want_seq != 0);
        FUZZ_CHECK(err == NULL);
        FUZZ_CHECK(id == want_id);
        FUZZ_CHECK(seq == want_seq);
    } else {
        FUZZ_CHECK(rc == -1);
        FUZZ_CHECK(!id_ok || want_seq == 0);
        FUZZ_CHECK(err && *err);
    }
    json_object_put(root);
    return 0;
}

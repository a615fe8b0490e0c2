/* fuzz_body_disconnect.c -- POST {prefix}/disconnect: the body as
 * navigator.sendBeacon sends it, through body_parse,
 * body_disconnect and token_is_wellformed, as the handler does.
 * Input: the raw request body. */
#include "autoconf.h"

#include "fuzz_body.h"
#include "token.h"

/* The token shape, written out again: 8-4-4-4-12 lower-case hex digits. */
static bool ref_wellformed(const char *s, size_t len)
{
    static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
    if (len != sizeof shape - 1)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (shape[i] == '-' ? s[i] != '-' : !strchr("0123456789abcdef", s[i]) || !s[i])
            return false;
    }
    return true;
}

FUZZ_TARGET(body_disconnect)
{
    struct json_object *root = fuzz_body_parse(data, size);
    if (!root)
        return 0;

    const char *id = NULL, *err = NULL, *want;
    int kind = fuzz_json_string(root, "connection_id", &want);
    int rc = body_disconnect(root, &id, &err);
    bool ok = kind == 1 && json_object_get_string_len(
                  json_object_object_get(root, "connection_id")) > 0;
    if (rc == 0) {
        FUZZ_CHECK(ok);
        FUZZ_CHECK(err == NULL);
        FUZZ_CHECK(id == want);         /* points into root, not a copy */
        size_t n = strlen(id);
        bool wf = token_is_wellformed(id, n);
        FUZZ_CHECK(wf == ref_wellformed(id, n));
    } else {
        FUZZ_CHECK(rc == -1);
        FUZZ_CHECK(!ok);
        FUZZ_CHECK(err && *err);
    }
    /* The raw body, too, as if it were the id: any bytes at all. */
    if (size <= 64) {
        char *s = fuzz_copy(data, size);
        FUZZ_CHECK(token_is_wellformed(s, size) == ref_wellformed(s, size));
        free(s);
    }
    json_object_put(root);
    return 0;
}

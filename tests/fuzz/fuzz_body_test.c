/* fuzz_body_test.c -- POST {prefix}/test: body_parse then
 * body_test, checked against the rules of docs/api.md written out again:
 * "type" absent/null or a valid name (default "test_event"), "message"
 * absent/null or a string of at most 1024 bytes.  Input: the raw body. */
#include "autoconf.h"

#include "fuzz_body.h"

FUZZ_TARGET(body_test)
{
    struct json_object *root = fuzz_body_parse(data, size);
    if (!root)
        return 0;

    const char *type, *message, *err = NULL;
    int tk = fuzz_json_string(root, "type", &type);
    int mk = fuzz_json_string(root, "message", &message);
    bool ok = tk >= 0 && (!type || routes_valid_name(type, strlen(type))) &&
              mk >= 0 && (!message || strlen(message) <= MESSAGE_MAX_LEN);

    struct test_request t;
    memset(&t, 0xa5, sizeof t);         /* no field may be left as it was */
    int rc = body_test(root, &t, &err);
    if (rc == 0) {
        FUZZ_CHECK(ok);
        FUZZ_CHECK(err == NULL);
        FUZZ_CHECK(type ? t.type == type : strcmp(t.type, "test_event") == 0);
        FUZZ_CHECK(routes_valid_name(t.type, strlen(t.type)));
        FUZZ_CHECK(t.message == message);
    } else {
        FUZZ_CHECK(rc == -1);
        FUZZ_CHECK(!ok);
        FUZZ_CHECK(err && *err);
    }
    json_object_put(root);
    return 0;
}

/* fuzz_body_publish.c -- POST {prefix}/publish: body_parse then
 * body_publish, checked against the rules of docs/api.md written out
 * again.  Input: the raw body. */
#include "autoconf.h"

#include "conn.h"
#include "fuzz_body.h"

FUZZ_TARGET(body_publish)
{
    struct json_object *root = fuzz_body_parse(data, size);
    if (!root)
        return 0;

    /* The reference: what the contract accepts, and the request it means. */
    const char *event, *target, *display, *user, *err = NULL;
    int ek = fuzz_json_string(root, "event", &event);
    int tk = fuzz_json_string(root, "target", &target);
    int dk = fuzz_json_string(root, "display", &display);
    int uk = fuzz_json_string(root, "user", &user);
    int want_target = -2;
    if (tk == 0 || (target && strcmp(target, "all") == 0))
        want_target = -1;
    else if (target && strcmp(target, "admin") == 0)
        want_target = CONN_ADMIN;
    else if (target && strcmp(target, "display") == 0)
        want_target = CONN_DISPLAY;
    bool ok = ek == 1 && routes_valid_name(event, strlen(event)) &&
              tk >= 0 && want_target != -2 &&
              dk >= 0 && (!display || routes_valid_name(display, strlen(display))) &&
              uk >= 0 && (!user || *user) &&
              !(display && want_target == CONN_ADMIN) &&
              !(user && want_target == CONN_DISPLAY) &&
              !(display && user);
    struct json_object *want_data = NULL;
    json_object_object_get_ex(root, "data", &want_data);

    struct publish_request p;
    memset(&p, 0xa5, sizeof p);
    int rc = body_publish(root, &p, &err);
    if (rc == 0) {
        FUZZ_CHECK(ok);
        FUZZ_CHECK(err == NULL);
        FUZZ_CHECK(p.event == event);
        FUZZ_CHECK(p.data == want_data);        /* borrowed, may be NULL */
        FUZZ_CHECK(p.target == want_target);
        FUZZ_CHECK(p.display == display);
        FUZZ_CHECK(p.user == user);
        if (p.data)                             /* still alive and usable */
            FUZZ_CHECK(json_object_to_json_string(p.data) != NULL);
    } else {
        FUZZ_CHECK(rc == -1);
        FUZZ_CHECK(!ok);
        FUZZ_CHECK(err && *err);
    }
    json_object_put(root);
    return 0;
}

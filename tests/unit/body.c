/* tests/unit/body.c -- request bodies: content types, strict JSON, each route's fields (src/routes.c). */
#include "unit.h"

#include "conn.h"
#include "body.h"
#include "routes.h"

START_TEST(body_content_types)
{
    ck_assert(body_content_type_ok(NULL));
    ck_assert(body_content_type_ok(""));
    ck_assert(body_content_type_ok("application/json"));
    ck_assert(body_content_type_ok("Application/JSON; charset=utf-8"));
    ck_assert(body_content_type_ok("text/plain;charset=UTF-8"));
    ck_assert(!body_content_type_ok("application/x-www-form-urlencoded"));
    ck_assert(!body_content_type_ok("text/plain2"));
    ck_assert(!body_content_type_ok("multipart/form-data; boundary=x"));
}
END_TEST

static void body_fails(const char *text, size_t len, const char *expect)
{
    const char *err = NULL;
    struct json_object *o = body_parse(text, len, &err);
    ck_assert_msg(o == NULL, "accepted: %.*s", (int)len, text);
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err, expect) != NULL, "'%s' lacks '%s'", err, expect);
}

START_TEST(body_parse_errors)
{
    body_fails("", 0, "empty");
    body_fails(" \n", 2, "empty");
    body_fails("{\"a\":", 5, "Malformed");
    body_fails("{\"a\":1} x", 9, "Malformed");
    body_fails("[1,2]", 5, "JSON object");
    body_fails("\"s\"", 3, "JSON object");
    body_fails("{\"a\":\"\xff\xfe\"}", 10, "UTF-8");
    body_fails("{\"a\":1}\0{}", 10, "NUL");
    body_fails("{\"a\":'x'}", 9, "Malformed");
    /* what json-c lets through and JSON (or C strings) do not */
    const char *not_json[] = {
        "{\"a\":\"\xc0\xaf\"}",                 /* overlong '/' */
        "{\"a\":\"\xed\xa0\x80\"}",            /* a surrogate */
        "{\"a\":\"\xf4\x90\x80\x80\"}",       /* past U+10FFFF */
        "{\"a\":\"\xf5\x80\x80\x80\"}",
        "{\"a\":\"\xe2\x82\"}",                 /* cut short */
        "{\"a\":NaN}", "{\"a\":Infinity}", "{\"a\":-Infinity}",
        "{\"a\":1.}", "{\"a\":-01}", "{\"a\":01}", "{\"a\":.5}", "{\"a\":1e}",
        "{\"a\":\"x\ty\"}",                       /* raw tab in a string */
        "{\"connection_id\":\"\\u0000abc\"}",   /* cut short as a C string */
        "{\"a\":nul}", "{\"a\":True}",
        "{'a':0}", "{':0\"':0}", "{\"a\":0,'b':1}",   /* json-c takes single-quoted keys */
        "{\"a\":0;}", "{\"a\":0}\x01", "{\"a\":\xc3\xa9}",  /* bytes JSON has only in strings */
    };
    for (size_t i = 0; i < sizeof not_json / sizeof not_json[0]; i++)
        body_fails(not_json[i], strlen(not_json[i]), "Malformed");
    const char *fine[] = { "{\"a\":-0.5e+10}", "{\"a\":[true,false,null,0,-0,1E3]}",
                           "{\"a\":\"\xe2\x82\xac \xf0\x9f\x98\x80 \\u00e9 \\\"\"}" };
    for (size_t i = 0; i < sizeof fine / sizeof fine[0]; i++) {
        const char *err = NULL;
        struct json_object *o = body_parse(fine[i], strlen(fine[i]), &err);
        ck_assert_msg(o != NULL, "refused %s: %s", fine[i], err);
        json_object_put(o);
    }
    char deep[200];
    size_t n = 0;
    for (int i = 0; i < 60; i++)
        deep[n++] = '[';
    for (int i = 0; i < 60; i++)
        deep[n++] = ']';
    char wrapped[256];
    snprintf(wrapped, sizeof wrapped, "{\"a\":%.*s}", (int)n, deep);
    body_fails(wrapped, strlen(wrapped), "deep");
}
END_TEST

static struct json_object *parse_ok(const char *text)
{
    const char *err = NULL;
    struct json_object *o = body_parse(text, strlen(text), &err);
    ck_assert_msg(o != NULL, "rejected %s: %s", text, err);
    return o;
}

START_TEST(body_disconnect_fields)
{
    const char *id, *err;
    struct json_object *o = parse_ok("{\"connection_id\": \"abc\"}");
    ck_assert_int_eq(body_disconnect(o, &id, &err), 0);
    ck_assert_str_eq(id, "abc");
    json_object_put(o);
    const char *bad[] = { "{}", "{\"connection_id\": null}", "{\"connection_id\": \"\"}",
                          "{\"connection_id\": 12}", "{\"connection_id\": [\"a\"]}",
                          "{\"connection_id\": {}}", "{\"connection_id\": true}" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        o = parse_ok(bad[i]);
        err = NULL;
        ck_assert_msg(body_disconnect(o, &id, &err) == -1, "accepted %s", bad[i]);
        ck_assert(strstr(err, "connection_id") != NULL);
        json_object_put(o);
    }
}
END_TEST

START_TEST(body_test_route)
{
    struct test_request t;
    const char *err;
    struct json_object *o = parse_ok("{}");
    ck_assert_int_eq(body_test(o, &t, &err), 0);
    ck_assert_str_eq(t.type, "test_event");
    ck_assert_ptr_null(t.message);
    json_object_put(o);
    o = parse_ok("{\"type\": \"ping2\", \"message\": \"hi\"}");
    ck_assert_int_eq(body_test(o, &t, &err), 0);
    ck_assert_str_eq(t.type, "ping2");
    ck_assert_str_eq(t.message, "hi");
    json_object_put(o);
    const char *bad[] = { "{\"type\": \"a b\"}", "{\"type\": 3}", "{\"message\": 3}",
                          "{\"type\": \"\"}" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        o = parse_ok(bad[i]);
        ck_assert_msg(body_test(o, &t, &err) == -1, "accepted %s", bad[i]);
        json_object_put(o);
    }
    char big[MESSAGE_MAX_LEN + 40];
    snprintf(big, sizeof big, "{\"message\": \"%0*d\"}", MESSAGE_MAX_LEN + 1, 0);
    o = parse_ok(big);
    ck_assert_int_eq(body_test(o, &t, &err), -1);
    json_object_put(o);
}
END_TEST

START_TEST(body_publish_fields)
{
    struct publish_request p;
    const char *err;
    struct json_object *o = parse_ok("{\"event\": \"news\", \"data\": [1]}");
    ck_assert_int_eq(body_publish(o, &p, &err), 0);
    ck_assert_str_eq(p.event, "news");
    ck_assert_int_eq(p.target, -1);
    ck_assert(json_object_is_type(p.data, json_type_array));
    json_object_put(o);
    o = parse_ok("{\"event\": \"a.b\", \"target\": \"display\", \"display\": \"lobby\"}");
    ck_assert_int_eq(body_publish(o, &p, &err), 0);
    ck_assert_int_eq(p.target, CONN_DISPLAY);
    ck_assert_str_eq(p.display, "lobby");
    json_object_put(o);
    o = parse_ok("{\"event\": \"a\", \"target\": \"admin\", \"user\": \"bob\"}");
    ck_assert_int_eq(body_publish(o, &p, &err), 0);
    ck_assert_int_eq(p.target, CONN_ADMIN);
    ck_assert_str_eq(p.user, "bob");
    json_object_put(o);
    const char *bad[] = {
        "{}", "{\"event\": \"\"}", "{\"event\": 5}", "{\"event\": \"a b\"}",
        "{\"event\": \"a\", \"target\": \"everyone\"}", "{\"event\": \"a\", \"target\": 1}",
        "{\"event\": \"a\", \"display\": \"bad name\"}", "{\"event\": \"a\", \"user\": \"\"}",
        "{\"event\": \"a\", \"target\": \"admin\", \"display\": \"x\"}",
        "{\"event\": \"a\", \"target\": \"display\", \"user\": \"x\"}",
        "{\"event\": \"a\", \"display\": \"x\", \"user\": \"y\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        o = parse_ok(bad[i]);
        err = NULL;
        ck_assert_msg(body_publish(o, &p, &err) == -1, "accepted %s", bad[i]);
        ck_assert_ptr_nonnull(err);
        json_object_put(o);
    }
}
END_TEST

START_TEST(body_ack_fields)
{
    const char *id, *err;
    unsigned long long seq;
    struct json_object *o = parse_ok("{\"connection_id\":\"t\",\"seq\":7}");
    ck_assert_int_eq(body_ack(o, &id, &seq, &err), 0);
    ck_assert_str_eq(id, "t");
    ck_assert_uint_eq(seq, 7);
    json_object_put(o);
    const char *bad[] = { "{\"seq\":1}", "{\"connection_id\":\"t\"}",
                          "{\"connection_id\":\"t\",\"seq\":0}",
                          "{\"connection_id\":\"t\",\"seq\":-3}",
                          "{\"connection_id\":\"t\",\"seq\":\"1\"}",
                          "{\"connection_id\":\"t\",\"seq\":1.5}",
                          "{\"connection_id\":\"t\",\"seq\":99999999999999999999}" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        o = parse_ok(bad[i]);
        ck_assert_msg(body_ack(o, &id, &seq, &err) == -1, "accepted %s", bad[i]);
        json_object_put(o);
    }
}
END_TEST

Suite *body_suite(void)
{
    Suite *s = suite_create("body");
    UNIT_TEST(s, body_content_types);
    UNIT_TEST(s, body_parse_errors);
    UNIT_TEST(s, body_disconnect_fields);
    UNIT_TEST(s, body_test_route);
    UNIT_TEST(s, body_publish_fields);
    UNIT_TEST(s, body_ack_fields);
    return s;
}

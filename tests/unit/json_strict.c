/* tests/unit/json_strict.c -- strict JSON (src/json_strict.c).  The
 * bodies' own rules (an object, not empty, no NUL) are in body.c. */
#include "unit.h"

#include "json_strict.h"

static void refused(const char *text, int depth)
{
    const char *err = NULL;
    struct json_object *o = json_strict_parse(text, strlen(text), depth, &err);
    ck_assert_msg(o == NULL, "accepted %s", text);
    ck_assert_msg(err && strncmp(err, "Malformed JSON", 14) == 0, "%s: %s", text, err);
}

START_TEST(json_strict_values)
{
    /* any value, not only objects, with blanks around it */
    const char *fine[] = { "[1,2]", " \"s\" ", "-0.5e+10", "true", "{\"a\":{\"b\":[]}}" };
    for (size_t i = 0; i < sizeof fine / sizeof *fine; i++) {
        const char *err = NULL;
        struct json_object *o = json_strict_parse(fine[i], strlen(fine[i]), 32, &err);
        ck_assert_msg(o != NULL, "refused %s: %s", fine[i], err);
        json_object_put(o);
    }
    refused("null", 32);                        /* no object to hand back */
    refused("", 32);
    refused("01", 32);
    refused("[1] [2]", 32);
    refused("'a'", 32);
    refused("\"a\\u0000b\"", 32);
    refused("[[[1]]]", 3);                      /* json-c counts the 1 as a level */
    const char *err;
    struct json_object *o = json_strict_parse("[[1]]", 5, 3, &err);
    ck_assert_ptr_nonnull(o);
    json_object_put(o);
}
END_TEST

START_TEST(json_strict_surrogates)
{
    /* a pair is one code point; anything else json-c would turn into U+FFFD */
    const char *err = NULL;
    const char pair[] = "{\"s\":\"\\ud83d\\ude00 \\u00e9 \\\" \\\\ \\/ \\b\\f\\n\\r\\t\"}";
    struct json_object *o = json_strict_parse(pair, strlen(pair), 32, &err);
    ck_assert_msg(o != NULL, "%s", err);
    ck_assert_str_eq(json_object_get_string(json_object_object_get(o, "s")),
                     "\xf0\x9f\x98\x80 \xc3\xa9 \" \\ / \b\f\n\r\t");
    json_object_put(o);
    refused("\"\\ud800\"", 32);                  /* high alone */
    refused("\"\\udc00\"", 32);                  /* low alone */
    refused("\"\\udfff\\ud800\"", 32);          /* in the wrong order */
    refused("\"\\ud800\\u0041\"", 32);          /* high, then not a low one */
    refused("\"\\ud800\\n\"", 32);
    refused("\"\\ud800x\"", 32);
    refused("\"\\uDBFF\"", 32);
    refused("{\"k\\ud800\":1}", 32);             /* in a key too */
    refused("[\"ok\", \"\\ude00\"]", 32);
    refused("\"\\u12\"", 32);                    /* not four hex digits */
    refused("\"\\u12g4\"", 32);
    refused("\"\\x41\"", 32);                    /* no such escape */
    refused("\"\\ud800", 32);                     /* cut short */
}
END_TEST

START_TEST(json_strict_duplicate_keys)
{
    refused("{\"a\":1,\"a\":2}", 32);
    refused("{\"a\":1, \"b\":2 ,\"a\" : 1}", 32);
    refused("{\"a\":1,\"\\u0061\":2}", 32);          /* the same key, escaped */
    refused("{\"x\":{\"a\":{},\"a\":[]}}", 32);      /* at any depth */
    refused("[{\"a\":1},[{\"b\":{\"c\":1,\"c\":1}}]]", 32);
    refused("{\"a\":{\"x\":1},\"b\":{\"y\":2},\"a\":{\"x\":1}}", 32);
    refused("{\"e\":\"x\",\"data\":{\"k\":1},\"data\":{}}", 32);
    /* the same key in different objects, and keys as values, are fine */
    const char *fine[] = {
        "{\"a\":{\"a\":{\"a\":1}},\"b\":[{\"a\":1},{\"a\":2}]}",
        "{\"a\":\"a\",\"b\":[\"a\",\"a\"],\"c\":{}}",
        "{\"a:\":1,\"a\":2}",
        "[{},{},{\"x\":[{}]}]",
    };
    for (size_t i = 0; i < sizeof fine / sizeof *fine; i++) {
        const char *err = NULL;
        struct json_object *o = json_strict_parse(fine[i], strlen(fine[i]), 32, &err);
        ck_assert_msg(o != NULL, "refused %s: %s", fine[i], err);
        json_object_put(o);
    }
    const char *err = NULL;
    ck_assert_ptr_null(json_strict_parse("{\"a\":1,\"a\":2}", 13, 32, &err));
    ck_assert_str_eq(err, "Malformed JSON: a key appears twice in one object");
}
END_TEST

Suite *json_strict_suite(void)
{
    Suite *s = suite_create("json_strict");
    UNIT_TEST(s, json_strict_values);
    UNIT_TEST(s, json_strict_surrogates);
    UNIT_TEST(s, json_strict_duplicate_keys);
    return s;
}

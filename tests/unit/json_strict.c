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

Suite *json_strict_suite(void)
{
    Suite *s = suite_create("json_strict");
    UNIT_TEST(s, json_strict_values);
    return s;
}

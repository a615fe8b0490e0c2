/* tests/unit/token.c -- tokens and public ids (src/token.c). */
#include "unit.h"

#include "token.h"

START_TEST(token_shape_and_uniqueness)
{
    char a[TOKEN_LEN + 1], b[TOKEN_LEN + 1], p[PUBLIC_ID_LEN + 1];
    ck_assert_int_eq(token_new(a), 0);
    ck_assert_int_eq(token_new(b), 0);
    ck_assert(token_is_wellformed(a, strlen(a)));
    ck_assert_int_eq(a[14], '4');                           /* version 4 */
    ck_assert(strchr("89ab", a[19]) != NULL);               /* RFC 4122 variant */
    ck_assert(!token_equal(a, b));
    ck_assert(token_equal(a, a));
    ck_assert_int_eq(token_public_id(p), 0);
    ck_assert_uint_eq(strlen(p), PUBLIC_ID_LEN);
    ck_assert(strncmp(p, "c-", 2) == 0);
    ck_assert(!token_is_wellformed(p, strlen(p)));
    ck_assert(!token_is_wellformed("0000000-0000-4000-8000-0000000000000", 36));
    ck_assert(!token_is_wellformed("00000000-0000-4000-8000-00000000000G", 36));
    ck_assert(!token_is_wellformed("00000000-0000-4000-8000-00000000000", 35));
}
END_TEST

Suite *token_suite(void)
{
    Suite *s = suite_create("token");
    UNIT_TEST(s, token_shape_and_uniqueness);
    return s;
}

/* tests/unit/buf.c -- the capped growable buffer (src/buf.c). */
#include "unit.h"

#include "buf.h"

START_TEST(buf_appends_and_consumes)
{
    struct buf b;
    buf_init(&b, 1 << 20);
    ck_assert_ptr_null(b.data);                 /* nothing until the first append */
    ck_assert_uint_eq(buf_unread(&b), 0);
    ck_assert_str_eq(buf_unread_data(&b), "");
    ck_assert_int_eq(buf_append(&b, "hello", 5), 0);
    ck_assert_int_eq(buf_printf(&b, " %s %d", "world", 42), 0);
    ck_assert_str_eq(buf_unread_data(&b), "hello world 42");
    ck_assert_uint_eq(buf_unread(&b), 14);
    buf_consume(&b, 6);
    ck_assert_str_eq(buf_unread_data(&b), "world 42");
    /* consumed space is reused before growing: data slides down */
    size_t cap = b.cap;
    char fill[2048];
    memset(fill, 'x', sizeof fill);
    ck_assert_int_eq(buf_append(&b, fill, cap - 8), 0);    /* 6 more than the tail holds */
    ck_assert_uint_eq(b.cap, cap);
    ck_assert_uint_eq(b.off, 0);
    ck_assert(memcmp(buf_unread_data(&b), "world 42xx", 10) == 0);
    /* all consumed: the memory goes */
    buf_consume(&b, buf_unread(&b) + 100);
    ck_assert_ptr_null(b.data);
    ck_assert_uint_eq(buf_unread(&b), 0);
    /* a long printf grows it */
    ck_assert_int_eq(buf_printf(&b, "%5000d", 7), 0);
    ck_assert_uint_eq(buf_unread(&b), 5000);
    ck_assert_int_eq(buf_unread_data(&b)[4999], '7');
    ck_assert_int_eq(buf_unread_data(&b)[5000], '\0');
    buf_consume(&b, 4000);
    size_t len;
    char *p = buf_take(&b, &len);
    ck_assert_uint_eq(len, 1000);
    ck_assert_uint_eq(strlen(p), 1000);
    free(p);
    ck_assert_ptr_null(b.data);
    ck_assert_ptr_null(buf_take(&b, &len));
    ck_assert_uint_eq(len, 0);
    /* a reservation is taken as asked, not rounded up */
    ck_assert_int_eq(buf_reserve(&b, 100), 0);
    ck_assert_uint_eq(b.cap, 100);
    ck_assert_int_eq(buf_append(&b, fill, 100), 0);
    ck_assert_uint_eq(b.cap, 100);
    ck_assert_int_eq(buf_append(&b, "x", 1), 0);       /* then it doubles */
    ck_assert_uint_eq(b.cap, 200);
    buf_reset(&b);
}
END_TEST

START_TEST(buf_keeps_its_cap)
{
    struct buf b;
    buf_init(&b, 10);
    ck_assert_int_eq(buf_append(&b, "0123456789", 10), 0);     /* exactly full */
    ck_assert(!b.failed);
    ck_assert_int_eq(buf_append(&b, "x", 1), -1);
    ck_assert(b.failed);
    ck_assert_str_eq(buf_unread_data(&b), "0123456789");       /* unchanged */
    ck_assert_int_eq(buf_append(&b, "", 0), -1);               /* failed stays failed */
    buf_reset(&b);
    ck_assert(!b.failed);
    ck_assert_int_eq(buf_printf(&b, "%s", "01234567890"), -1); /* 11 > 10 */
    ck_assert_uint_eq(buf_unread(&b), 0);
    buf_reset(&b);
    /* consumed bytes do not count against the cap */
    ck_assert_int_eq(buf_append(&b, "abcdefgh", 8), 0);
    buf_consume(&b, 6);
    ck_assert_int_eq(buf_append(&b, "12345678", 8), 0);
    ck_assert_str_eq(buf_unread_data(&b), "gh12345678");
    ck_assert_int_eq(buf_printf(&b, "%d", 1), -1);
    ck_assert_str_eq(buf_unread_data(&b), "gh12345678");
    buf_reset(&b);
    /* a small printf that fits in the free tail but not under the cap */
    ck_assert_int_eq(buf_append(&b, "abcdefghi", 9), 0);
    ck_assert_int_eq(buf_printf(&b, "%s", "yz"), -1);
    ck_assert_str_eq(buf_unread_data(&b), "abcdefghi");
    char *room = buf_room(&b, 2);
    ck_assert_ptr_null(room);
    buf_reset(&b);
}
END_TEST

Suite *buf_suite(void)
{
    Suite *s = suite_create("buf");
    UNIT_TEST(s, buf_appends_and_consumes);
    UNIT_TEST(s, buf_keeps_its_cap);
    return s;
}

/* tests/unit/fcgi_record.c -- the FastCGI records the I/O loops write
 * (src/fcgi_record.c), byte for byte as the FastCGI specification lays
 * them out and as FCGX_Finish_r ends a response. */
#include "unit.h"

#include "fcgi_record.h"

START_TEST(fcgi_header_layout)
{
    FCGI_Header h;
    fcgi_record_header(&h, FCGI_STDOUT, 0x1234, 0xabcd);
    const unsigned char want[8] = { 1, 6, 0x12, 0x34, 0xab, 0xcd, 0, 0 };
    ck_assert_uint_eq(sizeof h, FCGI_HEADER_LEN);
    ck_assert(memcmp(&h, want, 8) == 0);
}
END_TEST

START_TEST(fcgi_stdout_records)
{
    struct buf b;
    buf_init(&b, 1 << 20);
    ck_assert_int_eq(fcgi_record_stdout(&b, 1, "", 0), 0);     /* nothing: no end marker */
    ck_assert_uint_eq(buf_unread(&b), 0);
    ck_assert_int_eq(fcgi_record_stdout(&b, 1, "data: x\n\n", 9), 0);
    const unsigned char one[] = { 1, 6, 0, 1, 0, 9, 0, 0, 'd', 'a', 't', 'a', ':', ' ', 'x', '\n', '\n' };
    ck_assert_uint_eq(buf_unread(&b), sizeof one);
    ck_assert(memcmp(buf_unread_data(&b), one, sizeof one) == 0);
    buf_reset(&b);
    /* past 65535 bytes: split into full records, in order */
    enum { BIG = 70000 };
    char *big = malloc(BIG);
    for (int i = 0; i < BIG; i++)
        big[i] = (char)('a' + i % 26);
    ck_assert_int_eq(fcgi_record_stdout(&b, 300, big, BIG), 0);
    ck_assert_uint_eq(buf_unread(&b), BIG + 2 * 8);
    const unsigned char *p = (const unsigned char *)buf_unread_data(&b);
    const unsigned char h1[] = { 1, 6, 1, 44, 0xff, 0xff, 0, 0 };
    const unsigned char h2[] = { 1, 6, 1, 44, (BIG - 65535) >> 8, (BIG - 65535) & 0xff, 0, 0 };
    ck_assert(memcmp(p, h1, 8) == 0);
    ck_assert(memcmp(p + 8, big, 65535) == 0);
    ck_assert(memcmp(p + 8 + 65535, h2, 8) == 0);
    ck_assert(memcmp(p + 16 + 65535, big + 65535, BIG - 65535) == 0);
    buf_reset(&b);
    /* a buffer that cannot take it all keeps what it had */
    struct buf small;
    buf_init(&small, 20);
    ck_assert_int_eq(fcgi_record_stdout(&small, 1, "abc", 3), 0);
    ck_assert_int_eq(fcgi_record_stdout(&small, 1, "abcdefghijk", 11), -1);
    ck_assert_uint_eq(buf_unread(&small), 11);
    buf_reset(&small);
    free(big);
}
END_TEST

START_TEST(fcgi_end_request)
{
    struct buf b;
    buf_init(&b, 1 << 20);
    ck_assert_int_eq(fcgi_record_end(&b, 7, 0, FCGI_REQUEST_COMPLETE), 0);
    const unsigned char want[] = {
        1, 6, 0, 7, 0, 0, 0, 0,                     /* empty STDOUT: end of stream */
        1, 3, 0, 7, 0, 8, 0, 0,                     /* END_REQUEST, 8 bytes of body */
        0, 0, 0, 0, FCGI_REQUEST_COMPLETE, 0, 0, 0,
    };
    ck_assert_uint_eq(buf_unread(&b), FCGI_RECORD_END_LEN);
    ck_assert_uint_eq(sizeof want, FCGI_RECORD_END_LEN);
    ck_assert(memcmp(buf_unread_data(&b), want, sizeof want) == 0);
    buf_reset(&b);
    ck_assert_int_eq(fcgi_record_end(&b, 0xfffe, 0x01020304, FCGI_OVERLOADED), 0);
    const unsigned char *p = (const unsigned char *)buf_unread_data(&b);
    ck_assert_uint_eq(p[2], 0xff);
    ck_assert_uint_eq(p[3], 0xfe);
    ck_assert(memcmp(p + 16, "\x01\x02\x03\x04\x02", 5) == 0);
    buf_reset(&b);
}
END_TEST

Suite *fcgi_record_suite(void)
{
    Suite *s = suite_create("fcgi_record");
    UNIT_TEST(s, fcgi_header_layout);
    UNIT_TEST(s, fcgi_stdout_records);
    UNIT_TEST(s, fcgi_end_request);
    return s;
}

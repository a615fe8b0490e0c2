/* tests/unit/fcgi_request.c -- whether a FastCGI request is whole, and one
 * (src/fcgi_request.c). */
#include "unit.h"

#include <fastcgi.h>

#include "fcgi_request.h"

#define BODY_MAX 1000
#define CAP FCGI_REQUEST_CAP(BODY_MAX)

static size_t record(uint8_t *out, int type, int id, const void *content, size_t len, unsigned pad)
{
    uint8_t h[8] = { 1, (uint8_t)type, (uint8_t)(id >> 8), (uint8_t)id, (uint8_t)(len >> 8),
                     (uint8_t)len, (uint8_t)pad, 0 };
    memcpy(out, h, 8);
    if (len)
        memcpy(out + 8, content, len);
    memset(out + 8 + len, 0, pad);
    return 8 + len + pad;
}

static size_t pair(uint8_t *out, const char *name, size_t nlen, const char *value, size_t vlen,
                   bool long_lengths)
{
    size_t n = 0;
    size_t lens[2] = { nlen, vlen };
    for (int i = 0; i < 2; i++) {
        if (long_lengths || lens[i] > 127) {
            out[n++] = (uint8_t)(0x80 | lens[i] >> 24);
            out[n++] = (uint8_t)(lens[i] >> 16);
            out[n++] = (uint8_t)(lens[i] >> 8);
            out[n++] = (uint8_t)lens[i];
        } else {
            out[n++] = (uint8_t)lens[i];
        }
    }
    memcpy(out + n, name, nlen);
    memcpy(out + n + nlen, value, vlen);
    return n + nlen + vlen;
}

static const uint8_t begin[8] = { 0, FCGI_RESPONDER, FCGI_KEEP_CONN };

/* A whole request: params split over two records (a pair straddles them),
 * a body of blen bytes. */
static size_t request(uint8_t *out, const char *cl, size_t blen)
{
    uint8_t params[512];
    size_t p = 0;
    p += pair(params + p, "REQUEST_METHOD", 14, "POST", 4, false);
    p += pair(params + p, "DOCUMENT_URI", 12, "/api/v1/events/publish", 22, true);
    if (cl)
        p += pair(params + p, "CONTENT_LENGTH", 14, cl, strlen(cl), false);
    p += pair(params + p, "HTTP_X", 6, "y", 1, false);
    size_t n = record(out, FCGI_BEGIN_REQUEST, 300, begin, 8, 0);
    n += record(out + n, FCGI_PARAMS, 300, params, 20, 4);
    n += record(out + n, FCGI_PARAMS, 300, params + 20, p - 20, 0);
    n += record(out + n, FCGI_PARAMS, 300, NULL, 0, 0);
    static uint8_t body[4096];
    memset(body, 'b', sizeof body);
    if (blen)
        n += record(out + n, FCGI_STDIN, 300, body, blen, 3);
    n += record(out + n, FCGI_STDIN, 300, NULL, 0, 0);
    return n;
}

START_TEST(fcgi_request_whole_and_partial)
{
    static uint8_t buf[8192];
    struct fcgi_request_info info;
    size_t len = request(buf, "10", 10);
    ck_assert_int_eq(fcgi_request_scan(buf, len, BODY_MAX, CAP, &info), FCGI_REQUEST_WHOLE);
    ck_assert_uint_eq(info.request_id, 300);
    ck_assert(info.keep_conn && info.params_whole && !info.nul_param);
    ck_assert(info.has_length);
    ck_assert_uint_eq(info.content_length, 10);
    ck_assert_uint_eq(info.stdin_len, 10);
    ck_assert_uint_eq(info.used, len);
    /* every prefix is a request so far, not yet whole */
    for (size_t k = 0; k < len; k++)
        ck_assert_msg(fcgi_request_scan(buf, k, BODY_MAX, CAP, &info) == FCGI_REQUEST_PARTIAL,
                      "prefix of %zu bytes", k);
    /* bytes after the request (pipelining) change nothing */
    memcpy(buf + len, "garbage!", 8);
    ck_assert_int_eq(fcgi_request_scan(buf, len + 8, BODY_MAX, CAP, &info), FCGI_REQUEST_WHOLE);
    /* no CONTENT_LENGTH, or one that is no number: the body's end counts */
    len = request(buf, NULL, 0);
    ck_assert_int_eq(fcgi_request_scan(buf, len, BODY_MAX, CAP, &info), FCGI_REQUEST_WHOLE);
    ck_assert(!info.has_length);
    len = request(buf, "-1", 5);
    ck_assert_int_eq(fcgi_request_scan(buf, len - 8, BODY_MAX, CAP, &info), FCGI_REQUEST_PARTIAL);
    ck_assert(!info.has_length);
}
END_TEST

START_TEST(fcgi_request_bodies_not_waited_for)
{
    static uint8_t buf[8192];
    struct fcgi_request_info info;
    /* a length over the largest body: whole once the params are */
    size_t len = request(buf, "1001", 0);
    size_t params_end = len - 8;                        /* before the empty STDIN */
    ck_assert_int_eq(fcgi_request_scan(buf, params_end, BODY_MAX, CAP, &info), FCGI_REQUEST_WHOLE);
    ck_assert_uint_eq(info.content_length, 1001);
    ck_assert_uint_eq(info.used, params_end);
    ck_assert_int_eq(fcgi_request_scan(buf, params_end, 1001, FCGI_REQUEST_CAP(1001), &info),
                     FCGI_REQUEST_PARTIAL);
    /* more STDIN than the largest body (no length): whole at that byte */
    len = request(buf, NULL, 1500);
    size_t stdin_start = len - 8 - (8 + 1500 + 3);      /* its STDIN record's header */
    ck_assert_int_eq(fcgi_request_scan(buf, stdin_start + 8 + BODY_MAX, BODY_MAX, CAP, &info),
                     FCGI_REQUEST_PARTIAL);
    ck_assert_int_eq(fcgi_request_scan(buf, stdin_start + 8 + BODY_MAX + 1, BODY_MAX, CAP, &info),
                     FCGI_REQUEST_WHOLE);
    ck_assert_uint_eq(info.stdin_len, BODY_MAX + 1);
}
END_TEST

START_TEST(fcgi_request_nul_params)
{
    static uint8_t buf[4096];
    struct fcgi_request_info info;
    static const struct { const char *name; size_t nlen; const char *value; size_t vlen; } x[] = {
        { "DOCUMENT_URI", 12, "/api/v1/events/display/a\0b", 26 },
        { "REMOTE_\0USER", 12, "admin", 5 },
        { "HTTP_X", 6, "\0", 1 },
        { "\0", 1, "", 0 },
    };
    for (size_t i = 0; i < sizeof x / sizeof *x; i++) {
        uint8_t params[256];
        size_t p = pair(params, "REQUEST_METHOD", 14, "GET", 3, false);
        p += pair(params + p, x[i].name, x[i].nlen, x[i].value, x[i].vlen, i % 2);
        size_t n = record(buf, FCGI_BEGIN_REQUEST, 1, begin, 8, 0);
        /* split the params a byte at a time: NULs are found across records */
        for (size_t k = 0; k < p; k++)
            n += record(buf + n, FCGI_PARAMS, 1, params + k, 1, 0);
        n += record(buf + n, FCGI_PARAMS, 1, NULL, 0, 0);
        n += record(buf + n, FCGI_STDIN, 1, NULL, 0, 0);
        ck_assert_int_eq(fcgi_request_scan(buf, n, BODY_MAX, CAP, &info), FCGI_REQUEST_WHOLE);
        ck_assert_msg(info.nul_param, "case %zu", i);
    }
}
END_TEST

/* The scan of what len bytes hold must be INVALID. */
static void invalid(const uint8_t *buf, size_t len, const char *what)
{
    struct fcgi_request_info info;
    ck_assert_msg(fcgi_request_scan(buf, len, BODY_MAX, CAP, &info) == FCGI_REQUEST_INVALID,
                  "%s: not refused", what);
    ck_assert_ptr_nonnull(info.why);
}

START_TEST(fcgi_request_invalid)
{
    static uint8_t buf[200000];
    uint8_t params[64];
    size_t p = pair(params, "A", 1, "b", 1, false);
    size_t n;
    /* libfcgi 2.4.2 leaked 48 bytes on this: BEGIN for request 65, PARAMS for 1 */
    static const char hex[] =
        "0101004100080000000100000000000001040001005102000e03524551554553545f4d4554484f4447"
        "45540c19444f43554d454e545f5552492f6170692f76312f6576656e74732f6469734d6c61792f6b63"
        "0b0752454d4f54455f412b4452312e322e332e34000001040001000000000105000100000000";
    for (size_t i = 0; i < sizeof hex / 2; i++)
        sscanf(hex + 2 * i, "%2hhx", &buf[i]);
    invalid(buf, sizeof hex / 2, "PARAMS of another request");
    invalid(buf, 24, "PARAMS of another request (its header alone)");

    n = record(buf, FCGI_GET_VALUES, 0, params, p, 0);
    invalid(buf, n, "a management record");
    n = record(buf, FCGI_UNKNOWN_TYPE + 1, 0, params, 8, 0);
    invalid(buf, 8, "a management record of an unknown type");
    n = record(buf, FCGI_BEGIN_REQUEST, 0, begin, 8, 0);
    invalid(buf, n, "BEGIN_REQUEST of request 0");
    n = record(buf, FCGI_BEGIN_REQUEST, 1, begin, 7, 0);
    invalid(buf, n, "a short BEGIN_REQUEST");
    static const uint8_t filter[8] = { 0, FCGI_FILTER, 0 };
    n = record(buf, FCGI_BEGIN_REQUEST, 1, filter, 8, 0);
    invalid(buf, n, "the filter role");
    n = record(buf, FCGI_BEGIN_REQUEST, 1, begin, 8, 0);
    buf[0] = 2;
    invalid(buf, n, "version 2");
    n = record(buf, FCGI_BEGIN_REQUEST, 1, begin, 8, 0);
    size_t base = n;
    n = base + record(buf + base, FCGI_BEGIN_REQUEST, 2, begin, 8, 0);
    invalid(buf, n, "a second BEGIN_REQUEST");
    n = base + record(buf + base, FCGI_ABORT_REQUEST, 1, NULL, 0, 0);
    invalid(buf, n, "ABORT_REQUEST");
    n = base + record(buf + base, FCGI_STDIN, 1, NULL, 0, 0);
    invalid(buf, n, "STDIN before the params' end");
    n = base + record(buf + base, FCGI_PARAMS, 1, params, p - 1, 0);
    n += record(buf + n, FCGI_PARAMS, 1, NULL, 0, 0);
    invalid(buf, n, "a pair cut short");
    n = base + record(buf + base, FCGI_PARAMS, 1, params, p, 0);
    n += record(buf + n, FCGI_PARAMS, 1, NULL, 0, 0);
    size_t params_end = n;
    n = params_end + record(buf + params_end, FCGI_PARAMS, 1, params, p, 0);
    invalid(buf, n, "PARAMS after the params' end");
    n = record(buf, FCGI_BEGIN_REQUEST, 1, begin, 8, 8);
    invalid(buf, n, "padding after BEGIN_REQUEST");
    n = base + record(buf + base, FCGI_PARAMS, 1, params, p, 0);
    n += record(buf + n, FCGI_PARAMS, 1, NULL, 0, 7);
    invalid(buf, n, "padding after the empty PARAMS");
    n = params_end + record(buf + params_end, FCGI_STDIN, 1, NULL, 0, 1);
    invalid(buf, n, "padding after the empty STDIN");
    n = params_end + record(buf + params_end, FCGI_DATA, 1, params, p, 0);
    invalid(buf, n, "DATA");
    n = params_end + record(buf + params_end, FCGI_STDIN, 7, params, p, 0);
    invalid(buf, n, "STDIN of another request");
    /* params larger than any web server sends */
    static uint8_t big[65535];
    memset(big, 'p', sizeof big);
    n = base + record(buf + base, FCGI_PARAMS, 1, big, sizeof big, 0);
    n += record(buf + n, FCGI_PARAMS, 1, big, 100, 0);
    invalid(buf, n, "params over 64 KiB");
    /* padding games: a request that would need more than the cap buffered */
    n = base;
    while (n < CAP + 300)
        n += record(buf + n, FCGI_PARAMS, 1, "x", 1, 255);
    invalid(buf, n, "records padded past the cap");
}
END_TEST

Suite *fcgi_request_suite(void)
{
    Suite *s = suite_create("fcgi_request");
    UNIT_TEST(s, fcgi_request_whole_and_partial);
    UNIT_TEST(s, fcgi_request_bodies_not_waited_for);
    UNIT_TEST(s, fcgi_request_nul_params);
    UNIT_TEST(s, fcgi_request_invalid);
    return s;
}

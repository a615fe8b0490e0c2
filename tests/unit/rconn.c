/* tests/unit/rconn.c -- where Redis is (src/rconn.c): the --cluster URL.
 * Talking to a real redis-server is the cluster suite's
 * (tests/integration/cluster.mjs). */
#include "unit.h"

#include "rconn.h"

START_TEST(rconn_urls)
{
    struct rconn_url u;
    char err[160], safe[300];
    ck_assert_int_eq(rconn_url_parse("redis://127.0.0.1:6379", &u, err, sizeof err), 0);
    ck_assert(!u.unix_socket);
    ck_assert_str_eq(u.host, "127.0.0.1");
    ck_assert_int_eq(u.port, 6379);
    ck_assert_int_eq(u.db, 0);
    ck_assert_str_eq(u.password, "");
    ck_assert_int_eq(rconn_url_parse("redis://sse:s%40cret@redis.lan:6380/2", &u, err, sizeof err), 0);
    ck_assert_str_eq(u.user, "sse");
    ck_assert_str_eq(u.password, "s@cret");
    ck_assert_str_eq(u.host, "redis.lan");
    ck_assert_int_eq(u.port, 6380);
    ck_assert_int_eq(u.db, 2);
    rconn_url_safe(&u, safe, sizeof safe);
    ck_assert_msg(strstr(safe, "cret") == NULL, "the password in %s", safe);
    ck_assert_int_eq(rconn_url_parse("redis://:pw@h:1/", &u, err, sizeof err), 0);
    ck_assert_str_eq(u.user, "");
    ck_assert_str_eq(u.password, "pw");
    ck_assert_int_eq(rconn_url_parse("unix:///run/redis/redis.sock", &u, err, sizeof err), 0);
    ck_assert(u.unix_socket);
    ck_assert_str_eq(u.host, "/run/redis/redis.sock");
    ck_assert_int_eq(rconn_url_parse("unix://:pw@/tmp/r.sock?db=3", &u, err, sizeof err), 0);
    ck_assert_str_eq(u.host, "/tmp/r.sock");
    ck_assert_str_eq(u.password, "pw");
    ck_assert_int_eq(u.db, 3);
    const char *bad[] = { "", "redis:/h:1", "http://h:1", "redis://h", "redis://h:0", "redis://h:70000",
                          "redis://h:1/x", "redis://:1", "unix://", "unix://relative.sock",
                          "unix:///s.sock?x=1", "redis://u:@h:1", "redis://u:p%zz@h:1",
                          "redis://u:p%00@h:1" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = '\0';
        ck_assert_msg(rconn_url_parse(bad[i], &u, err, sizeof err) == -1, "accepted %s", bad[i]);
        ck_assert(err[0] != '\0');
    }
}
END_TEST

Suite *rconn_suite(void)
{
    Suite *s = suite_create("rconn");
    UNIT_TEST(s, rconn_urls);
    return s;
}

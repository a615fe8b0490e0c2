/* tests/unit/options.c -- the command line (src/options.c). */
#include "unit.h"

#include "options.h"

static enum options_result parse(struct options *o, const char *line, char *err)
{
    char copy[512];
    char *argv[32];
    int argc = 0;
    snprintf(copy, sizeof copy, "%s", line);
    argv[argc++] = "sse-fcgi";
    for (char *t = strtok(copy, " "); t && argc < 31; t = strtok(NULL, " "))
        argv[argc++] = t;
    argv[argc] = NULL;
    enum options_result r = options_parse(o, argc, argv, err, 256);
    static char keep[512];          /* argv strings must outlive o */
    memcpy(keep, copy, sizeof keep);
    return r;
}

START_TEST(options_defaults_and_errors)
{
    struct options o;
    char err[256];
    ck_assert_int_eq(parse(&o, "", err), OPTIONS_OK);
    ck_assert_int_eq(o.threads, 8);
    ck_assert_int_eq(o.heartbeat_ms, 5000);
    ck_assert_uint_eq(o.max_connections, 10000);
    ck_assert_int_eq(o.auth, AUTH_REMOTE_USER);
    ck_assert_str_eq(o.prefix, "/api/v1/events");
    ck_assert_int_eq(o.log_level, LOG_INFO);
    ck_assert_ptr_null(o.socket);
    ck_assert_int_eq(parse(&o, "--threads 4 --heartbeat 0.5 --auth none --prefix /sse/ "
                               "--log-level debug --max-connections 20", err), OPTIONS_OK);
    ck_assert_int_eq(o.threads, 4);
    ck_assert_int_eq(o.heartbeat_ms, 500);
    ck_assert_int_eq(o.auth, AUTH_NONE);
    ck_assert_str_eq(o.prefix, "/sse");
    ck_assert_uint_eq(o.max_connections, 20);
    const char *bad[] = { "--threads 0", "--threads x", "--heartbeat 0", "--heartbeat -1",
                          "--heartbeat nan", "--auth basic", "--prefix api", "--log-level loud",
                          "--bogus", "--threads", "extra", "--max-connections 0" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        ck_assert_msg(parse(&o, bad[i], err) == OPTIONS_ERROR, "accepted %s", bad[i]);
        ck_assert(err[0] != '\0');
        ck_assert(strchr(err, '\n') == NULL);
    }
}
END_TEST

Suite *options_suite(void)
{
    Suite *s = suite_create("options");
    UNIT_TEST(s, options_defaults_and_errors);
    return s;
}

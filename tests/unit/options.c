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

/* The node's name on the command line, the cluster in the file (where its
 * password stays out of ps): either may give either. */
START_TEST(options_cluster_from_the_file)
{
    char path[] = "/tmp/sse-options-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    const char text[] = "cluster = redis://sse:secret@127.0.0.1:6379/2\n";
    ck_assert_int_eq(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    close(fd);
    struct options o;
    char err[256], **storage;
    char *with[] = { "sse-fcgi", "--config", path, "--node", "web-1", NULL };
    ck_assert_msg(options_load(&o, 5, with, &storage, err, sizeof err) == OPTIONS_OK, "%s", err);
    ck_assert_str_eq(o.node, "web-1");
    ck_assert_str_eq(o.cluster, "redis://sse:secret@127.0.0.1:6379/2");
    options_free_storage(storage);
    char *without[] = { "sse-fcgi", "--node", "web-1", NULL };      /* no cluster anywhere */
    ck_assert_int_eq(options_load(&o, 3, without, &storage, err, sizeof err), OPTIONS_ERROR);
    ck_assert_str_eq(err, "--node needs --cluster");
    options_free_storage(storage);
    unlink(path);
}
END_TEST

/* --socket-owner/-group/-mode: parsed here, names resolved by listen.c;
 * only for a unix socket this process binds. */
START_TEST(options_socket_permissions)
{
    struct options o;
    char err[256], **storage;
    ck_assert_int_eq(parse(&o, "", err), OPTIONS_OK);
    ck_assert_ptr_null(o.socket_owner);
    ck_assert_ptr_null(o.socket_group);
    ck_assert_int_eq(o.socket_mode, -1);
    /* An argv of its own: parse()'s strings do not outlive it. */
    char *full[] = { "sse-fcgi", "--socket", "/run/s.sock", "--socket-owner", "sse-fcgi",
                     "--socket-group", "sse-fcgi-web", "--socket-mode", "0660", NULL };
    ck_assert_int_eq(options_parse(&o, 9, full, err, sizeof err), OPTIONS_OK);
    ck_assert_str_eq(o.socket_owner, "sse-fcgi");
    ck_assert_str_eq(o.socket_group, "sse-fcgi-web");
    ck_assert_int_eq(o.socket_mode, 0660);
    ck_assert_int_eq(parse(&o, "--socket-mode 600", err), OPTIONS_OK);
    ck_assert_int_eq(o.socket_mode, 0600);
    ck_assert_int_eq(parse(&o, "--socket-mode 0", err), OPTIONS_OK);
    ck_assert_int_eq(o.socket_mode, 0);
    const char *bad[] = { "--socket-mode 0668", "--socket-mode 1777", "--socket-mode 4660",
                          "--socket-mode 06600", "--socket-mode rw", "--socket-mode -660",
                          "--socket-mode= ", "--socket-owner=", "--socket-group=" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        ck_assert_msg(parse(&o, bad[i], err) == OPTIONS_ERROR, "accepted %s", bad[i]);
        ck_assert(err[0] != '\0');
    }
    ck_assert_int_eq(parse(&o, "--socket-mode 0668", err), OPTIONS_ERROR);
    ck_assert_str_eq(err, "--socket-mode: '0668' is not an octal mode from 0 to 0777 (e.g. 0660)");
    /* Not without a unix socket of its own: an inherited one or TCP. */
    const char *lines[][6] = {
        { "sse-fcgi", "--socket-mode", "0600", NULL },
        { "sse-fcgi", "--socket-group", "www-data", NULL },
        { "sse-fcgi", "--socket", "127.0.0.1:9000", "--socket-owner", "root", NULL },
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        int argc = 0;
        while (lines[i][argc])
            argc++;
        ck_assert_int_eq(options_load(&o, argc, (char **)lines[i], &storage, err, sizeof err),
                         OPTIONS_ERROR);
        ck_assert_str_eq(err, "--socket-owner, --socket-group and --socket-mode need --socket "
                              "PATH (a unix socket this process binds)");
        options_free_storage(storage);
    }
    /* And from --config, as any option. */
    char path[] = "/tmp/sse-options-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    const char text[] = "socket = /run/sse-fcgi/sse-fcgi.sock\nsocket-group = sse-fcgi-web\n"
                        "socket-mode = 0640\n";
    ck_assert_int_eq(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    close(fd);
    char *with[] = { "sse-fcgi", "--config", path, NULL };
    ck_assert_msg(options_load(&o, 3, with, &storage, err, sizeof err) == OPTIONS_OK, "%s", err);
    ck_assert_str_eq(o.socket_group, "sse-fcgi-web");
    ck_assert_int_eq(o.socket_mode, 0640);
    options_free_storage(storage);
    unlink(path);
}
END_TEST

Suite *options_suite(void)
{
    Suite *s = suite_create("options");
    UNIT_TEST(s, options_defaults_and_errors);
    UNIT_TEST(s, options_cluster_from_the_file);
    UNIT_TEST(s, options_socket_permissions);
    return s;
}

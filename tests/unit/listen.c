/* tests/unit/listen.c -- the listening socket's owner, group and mode
 * (src/listen.c). */
#include "unit.h"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>

#include "listen.h"

static const char *socket_path(char *buf, size_t n, char *dir)
{
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(buf, n, "%s/s.sock", dir);
    return buf;
}

START_TEST(listen_perms_names_numbers_and_errors)
{
    struct listen_perms p;
    char err[256];
    ck_assert_int_eq(listen_perms_resolve(NULL, NULL, -1, &p, err, sizeof err), 0);
    ck_assert(p.uid == (uid_t)-1 && p.gid == (gid_t)-1);
    ck_assert_uint_eq(p.mode, 0660);
    ck_assert_int_eq(listen_perms_resolve("root", "root", 0600, &p, err, sizeof err), 0);
    ck_assert_uint_eq(p.uid, 0);
    ck_assert_uint_eq(p.gid, 0);
    ck_assert_uint_eq(p.mode, 0600);
    ck_assert_int_eq(listen_perms_resolve("4242", "4343", 0666, &p, err, sizeof err), 0);
    ck_assert_uint_eq(p.uid, 4242);
    ck_assert_uint_eq(p.gid, 4343);
    struct listen_perms before = p;
    ck_assert_int_eq(listen_perms_resolve("no-such-user-sse", NULL, -1, &p, err, sizeof err), -1);
    ck_assert_str_eq(err, "--socket-owner: no user 'no-such-user-sse'");
    ck_assert_int_eq(listen_perms_resolve(NULL, "no-such-group-sse", -1, &p, err, sizeof err), -1);
    ck_assert_str_eq(err, "--socket-group: no group 'no-such-group-sse'");
    ck_assert_int_eq(listen_perms_resolve("-1", NULL, -1, &p, err, sizeof err), -1);
    ck_assert_int_eq(listen_perms_resolve(NULL, "12x", -1, &p, err, sizeof err), -1);
    ck_assert(memcmp(&p, &before, sizeof p) == 0);      /* untouched on error */
}
END_TEST

/* The socket gets the group and mode asked for, whatever the umask. */
START_TEST(listen_open_applies_group_and_mode)
{
    char dir[] = "/tmp/sse-listen-XXXXXX", path[128], err[256];
    socket_path(path, sizeof path, dir);
    struct listen_perms p;
    char gid[32];
    snprintf(gid, sizeof gid, "%ld", (long)getegid());
    ck_assert_int_eq(listen_perms_resolve(NULL, gid, 0640, &p, err, sizeof err), 0);
    mode_t old = umask(0);
    int fd = listen_open(path, &p, err, sizeof err);
    umask(old);
    ck_assert_msg(fd >= 0, "%s", err);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert(S_ISSOCK(st.st_mode));
    ck_assert_uint_eq(st.st_mode & 07777, 0640);
    ck_assert_uint_eq(st.st_gid, getegid());
    ck_assert_uint_eq(st.st_uid, geteuid());
    close(fd);
    unlink(path);
    /* Without perms: 0660, as before. */
    fd = listen_open(path, NULL, err, sizeof err);
    ck_assert_msg(fd >= 0, "%s", err);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_eq(st.st_mode & 07777, 0660);
    close(fd);
    unlink(path);
    rmdir(dir);
}
END_TEST

/* As root: the owner and group asked for.  Otherwise an owner it may not
 * give the socket to: an error, and no file left. */
START_TEST(listen_open_owner)
{
    char dir[] = "/tmp/sse-listen-XXXXXX", path[128], err[256];
    socket_path(path, sizeof path, dir);
    struct listen_perms p;
    if (geteuid() == 0) {
        ck_assert_int_eq(listen_perms_resolve("4242", "4343", 0600, &p, err, sizeof err), 0);
        int fd = listen_open(path, &p, err, sizeof err);
        ck_assert_msg(fd >= 0, "%s", err);
        struct stat st;
        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert_uint_eq(st.st_uid, 4242);
        ck_assert_uint_eq(st.st_gid, 4343);
        ck_assert_uint_eq(st.st_mode & 07777, 0600);
        close(fd);
        unlink(path);
    } else {
        ck_assert_int_eq(listen_perms_resolve("0", NULL, -1, &p, err, sizeof err), 0);
        ck_assert_int_eq(listen_open(path, &p, err, sizeof err), -1);
        ck_assert_msg(strstr(err, "cannot set the owner or group") != NULL, "%s", err);
        ck_assert_int_eq(access(path, F_OK), -1);
    }
    rmdir(dir);
}
END_TEST

Suite *listen_suite(void)
{
    Suite *s = suite_create("listen");
    UNIT_TEST(s, listen_perms_names_numbers_and_errors);
    UNIT_TEST(s, listen_open_applies_group_and_mode);
    UNIT_TEST(s, listen_open_owner);
    return s;
}

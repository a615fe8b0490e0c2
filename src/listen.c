/* listen.c -- finding or opening the FastCGI listening socket.
 *
 * Not FCGX_OpenSocket(): it silently unlinks a socket another instance is
 * serving, leaves the mode to the umask, and calls exit() on a bad address. */
#include "autoconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <netdb.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "listen.h"

bool listen_is_unix(const char *spec)
{
    return strchr(spec, '/') || !strchr(spec, ':');
}

/* A whole decimal number in [0, max), or -1. */
static long parse_id(const char *s, long max)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 0 || v >= max)
        return -1;
    return v;
}

int listen_perms_resolve(const char *owner, const char *group, int mode,
                         struct listen_perms *p, char *err, size_t errlen)
{
    struct listen_perms r = { (uid_t)-1, (gid_t)-1, mode < 0 ? 0660 : (mode_t)mode };
    if (owner) {
        struct passwd *pw = getpwnam(owner);
        long id = pw ? (long)pw->pw_uid : parse_id(owner, INT_MAX);
        if (id < 0) {
            snprintf(err, errlen, "--socket-owner: no user '%s'", owner);
            return -1;
        }
        r.uid = (uid_t)id;
    }
    if (group) {
        struct group *gr = getgrnam(group);
        long id = gr ? (long)gr->gr_gid : parse_id(group, INT_MAX);
        if (id < 0) {
            snprintf(err, errlen, "--socket-group: no group '%s'", group);
            return -1;
        }
        r.gid = (gid_t)id;
    }
    *p = r;
    return 0;
}

static int open_unix(const char *path, const struct listen_perms *perms, char *err, size_t errlen)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof sa.sun_path) {
        snprintf(err, errlen, "socket path is too long: %s", path);
        return -1;
    }
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            snprintf(err, errlen, "%s exists and is not a socket", path);
            goto fail;
        }
        /* A socket someone answers on belongs to a running instance. */
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
            snprintf(err, errlen, "%s is in use by another process", path);
            goto fail;
        }
        close(fd);
        unlink(path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            snprintf(err, errlen, "socket: %s", strerror(errno));
            return -1;
        }
    }
    /* Created for the owner alone, then opened up as asked: never, even
     * for a moment, to whoever the umask would let in. */
    mode_t old_umask = umask(0177);
    int bound = bind(fd, (struct sockaddr *)&sa, sizeof sa);
    umask(old_umask);
    if (bound != 0) {
        snprintf(err, errlen, "cannot bind %s: %s", path, strerror(errno));
        goto fail;
    }
    /* Whoever can connect can claim any REMOTE_USER: owner and group only,
     * unless told otherwise.  Owner and group first, so that the socket is
     * never open to a group it was not meant for. */
    mode_t mode = perms ? perms->mode : 0660;
    if (perms && (perms->uid != (uid_t)-1 || perms->gid != (gid_t)-1) &&
        chown(path, perms->uid, perms->gid) != 0) {
        snprintf(err, errlen, "cannot set the owner or group of %s (--socket-owner, "
                 "--socket-group): %s", path, strerror(errno));
        unlink(path);
        goto fail;
    }
    if (chmod(path, mode) != 0) {
        snprintf(err, errlen, "cannot chmod %s: %s", path, strerror(errno));
        unlink(path);
        goto fail;
    }
    if (listen(fd, LISTEN_BACKLOG) != 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", path, strerror(errno));
        unlink(path);
        goto fail;
    }
    return fd;
fail:
    close(fd);
    return -1;
}

static int open_tcp(const char *spec, char *err, size_t errlen)
{
    const char *colon = strrchr(spec, ':');
    char host[256];
    size_t hlen = (size_t)(colon - spec);
    if (hlen >= sizeof host) {
        snprintf(err, errlen, "host name is too long: %s", spec);
        return -1;
    }
    memcpy(host, spec, hlen);
    host[hlen] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || port < 1 || port > 65535) {
        snprintf(err, errlen, "bad port in '%s'", spec);
        return -1;
    }
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    if (!*host) {
        sa.sin_addr.s_addr = htonl(INADDR_ANY);
    } else if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM };
        struct addrinfo *ai;
        int rc = getaddrinfo(host, NULL, &hints, &ai);
        if (rc != 0) {
            snprintf(err, errlen, "cannot resolve '%s': %s", host, gai_strerror(rc));
            return -1;
        }
        sa.sin_addr = ((struct sockaddr_in *)ai->ai_addr)->sin_addr;
        freeaddrinfo(ai);
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, LISTEN_BACKLOG) != 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", spec, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

int listen_open(const char *spec, const struct listen_perms *perms, char *err, size_t errlen)
{
    return listen_is_unix(spec) ? open_unix(spec, perms, err, errlen) : open_tcp(spec, err, errlen);
}

static bool is_listening_socket(int fd)
{
    struct stat st;
    int on = 0;
    socklen_t len = sizeof on;
    return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) &&
           getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == 0 && on;
}

int listen_inherited(char *err, size_t errlen)
{
    const char *fds = getenv("LISTEN_FDS");
    const char *pid = getenv("LISTEN_PID");
    if (fds && pid && atol(pid) == (long)getpid()) {
        if (atoi(fds) != 1) {
            snprintf(err, errlen, "LISTEN_FDS=%s: exactly one socket is supported", fds);
            return -1;
        }
        unsetenv("LISTEN_FDS");
        unsetenv("LISTEN_PID");
        unsetenv("LISTEN_FDNAMES");
        if (!is_listening_socket(3)) {
            snprintf(err, errlen, "LISTEN_FDS is set but fd 3 is not a listening socket");
            return -1;
        }
        return 3;
    }
    if (!is_listening_socket(0)) {
        snprintf(err, errlen, "fd 0 is not a listening socket: give --socket, or start "
                              "under spawn-fcgi or systemd socket activation");
        return -1;
    }
    return 0;
}

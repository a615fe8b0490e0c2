/* listen.h -- finding or opening the FastCGI listening socket. */
#ifndef SSE_LISTEN_H
#define SSE_LISTEN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define LISTEN_BACKLOG 4096        /* bursts of reconnects; capped by somaxconn */

/* Who may connect to a unix socket this process binds. */
struct listen_perms {
    uid_t uid;                  /* (uid_t)-1: leave the owner as created */
    gid_t gid;                  /* (gid_t)-1: leave the group as created */
    mode_t mode;                /* permission bits, e.g. 0660 */
};

/* Resolves --socket-owner/--socket-group (a name, or a number) and
 * --socket-mode (-1: 0660) into *p, before anything is bound, so that a
 * bad one is refused with no socket file left behind.  owner and group may
 * be NULL (unchanged).  Returns 0, or -1 with a one-line message in err
 * (an unknown user or group) and *p untouched. */
int listen_perms_resolve(const char *owner, const char *group, int mode,
                         struct listen_perms *p, char *err, size_t errlen);

/* Opens "PATH" (a unix socket, owner, group and mode from perms, or mode
 * 0660 if perms is NULL; a stale socket file is replaced, a live one is an
 * error) or "HOST:PORT" / ":PORT" (TCP, IPv4; perms ignored).  Returns the
 * fd, or -1 with a one-line message in err and no socket file left. */
int listen_open(const char *spec, const struct listen_perms *perms, char *err, size_t errlen);

/* The inherited socket: fd 3 if LISTEN_FDS=1 and LISTEN_PID is this
 * process (systemd), else fd 0 (spawn-fcgi).  Returns the fd, or -1 with
 * err if it is not a listening socket. */
int listen_inherited(char *err, size_t errlen);

/* True if spec names a unix socket path rather than HOST:PORT. */
bool listen_is_unix(const char *spec);

#endif

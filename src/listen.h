/* listen.h -- finding or opening the FastCGI listening socket. */
#ifndef SSE_LISTEN_H
#define SSE_LISTEN_H

#include <stdbool.h>
#include <stddef.h>

#define LISTEN_BACKLOG 4096        /* bursts of reconnects; capped by somaxconn */

/* Opens "PATH" (a unix socket, mode 0660; a stale socket file is replaced,
 * a live one is an error) or "HOST:PORT" / ":PORT" (TCP, IPv4).  Returns the
 * fd, or -1 with a one-line message in err. */
int listen_open(const char *spec, char *err, size_t errlen);

/* The inherited socket: fd 3 if LISTEN_FDS=1 and LISTEN_PID is this
 * process (systemd), else fd 0 (spawn-fcgi).  Returns the fd, or -1 with
 * err if it is not a listening socket. */
int listen_inherited(char *err, size_t errlen);

/* True if spec names a unix socket path rather than HOST:PORT. */
bool listen_is_unix(const char *spec);

#endif

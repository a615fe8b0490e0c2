/* options.h -- the command line. */
#ifndef SSE_OPTIONS_H
#define SSE_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "log.h"

enum auth_mode {
    AUTH_REMOTE_USER,           /* trust REMOTE_USER set by the web server */
    AUTH_NONE                   /* local demos: no user means "admin" */
};

#define OPTIONS_PREFIX_MAX 256

struct options {
    const char *socket;         /* NULL: inherited fd 0 or LISTEN_FDS */
    const char *socket_owner;   /* --socket-owner USER (name or uid); NULL: ours */
    const char *socket_group;   /* --socket-group GROUP (name or gid); NULL: ours */
    int socket_mode;            /* --socket-mode, 0-0777; -1: 0660 */
    int threads;
    int io_threads;             /* epoll loops serving the streams */
    int64_t heartbeat_ms;
    int64_t request_timeout_ms;  /* a connection's whole request, at most */
    size_t max_connections;
    enum auth_mode auth;
    const char *displays_file;  /* NULL: any valid display name */
    char prefix[OPTIONS_PREFIX_MAX]; /* no trailing slash */
    enum log_level log_level;
    size_t history;             /* events kept for Last-Event-ID; 0 none */
    int64_t history_age_ms;
    size_t max_per_user;        /* streams per user; 0 unlimited */
    size_t max_per_address;     /* streams per REMOTE_ADDR; 0 unlimited */
    const char *config_file;    /* NULL: none */
    const char *cluster;        /* --cluster URL (checked); NULL: one process */
    const char *node;           /* --node NAME (checked); NULL: host name and pid */
};

enum options_result {
    OPTIONS_OK,                 /* run the daemon */
    OPTIONS_EXIT,               /* --help or --version was printed: exit 0 */
    OPTIONS_ERROR               /* err holds a one-line message: exit 2 */
};

/* Fills o with the defaults, then applies argv.  Strings point into argv.
 * On OPTIONS_ERROR, err (errlen bytes) holds a message without newline. */
enum options_result options_parse(struct options *o, int argc, char **argv,
                                  char *err, size_t errlen);

/* As options_parse, but first applies the "name = value" lines of
 * --config FILE if argv names one (blank lines and '#' comments skipped;
 * names are the long options; the command line wins).  The strings of the
 * file live in *storage until options_free_storage(). */
enum options_result options_load(struct options *o, int argc, char **argv,
                                 char ***storage, char *err, size_t errlen);

/* Frees what options_load kept.  NULL does nothing. */
void options_free_storage(char **storage);

#endif

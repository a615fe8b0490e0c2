/* rconn.h -- one connection to Redis (or Valkey), over hiredis.
 *
 * A cluster node keeps a few of these, each owned by one thread (or under
 * one lock): they are not thread safe.  A connection that fails is closed;
 * the next command connects again (at most once per RCONN_RETRY_MS), so a
 * caller sees each failure as one error and Redis coming back as the next
 * success.  Every command has a timeout (RCONN_TIMEOUT_MS): a Redis that
 * stopped answering (SIGSTOP, a lost host) fails the command, it does not
 * hang the caller. */
#ifndef SSE_RCONN_H
#define SSE_RCONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#define RCONN_TIMEOUT_MS 1000       /* connect and each command */
#define RCONN_RETRY_MS 250          /* between two attempts to connect */
#define RCONN_HOST_MAX 255
#define RCONN_SECRET_MAX 255

/* Where Redis is: redis://[user:password@]HOST:PORT[/DB] or
 * unix:///path/redis.sock[?db=N] (user and password as in redis://). */
struct rconn_url {
    bool unix_socket;
    char host[RCONN_HOST_MAX + 1];  /* or the socket's path */
    int port;
    char user[RCONN_SECRET_MAX + 1];        /* "" : none (AUTH password alone) */
    char password[RCONN_SECRET_MAX + 1];    /* "" : no AUTH */
    int db;
};

/* Parses s into *u.  Returns 0, or -1 with a one-line message in err (that
 * never repeats the password). */
int rconn_url_parse(const char *s, struct rconn_url *u, char *err, size_t errlen);

/* s without its password, for logs: at most cap bytes into out. */
const char *rconn_url_safe(const struct rconn_url *u, char *out, size_t cap);

struct rconn;

/* A connection to u (copied), not yet connected.  NULL when out of memory. */
struct rconn *rconn_create(const struct rconn_url *u, const char *name);

/* Closes and frees.  NULL does nothing. */
void rconn_free(struct rconn *c);

/* Connects now if not connected (or sooner than RCONN_RETRY_MS after the
 * last failure: returns -1 without trying).  Returns 0 if connected. */
int rconn_ensure(struct rconn *c);

/* True while connected. */
bool rconn_up(const struct rconn *c);

/* Runs one command (argv of argc strings, argvlen their lengths or NULL for
 * NUL-terminated).  Returns the reply (caller frees with freeReplyObject),
 * or NULL if Redis could not be reached (the connection is closed, and
 * rconn_error() says why).  An error reply from Redis is returned as such
 * (REDIS_REPLY_ERROR): the connection is fine. */
redisReply *rconn_command(struct rconn *c, int argc, const char **argv, const size_t *argvlen);

/* printf-style convenience for fixed commands ("PING", "SET %s %s"). */
redisReply *rconn_commandf(struct rconn *c, const char *fmt, ...);

/* Pipelining: rconn_append() queues commands, rconn_flush() sends them and
 * reads every reply, handing each to fn (NULL: dropped).  Returns 0, or -1
 * if the connection failed (some commands may have run). */
int rconn_append(struct rconn *c, int argc, const char **argv, const size_t *argvlen);
int rconn_flush(struct rconn *c, void (*fn)(void *ctx, size_t i, redisReply *r), void *ctx);

/* Reads the reply of the next appended command, one at a time (instead of
 * rconn_flush).  Returns it (caller frees), or NULL if the connection
 * failed (the rest are lost). */
redisReply *rconn_read_pipelined(struct rconn *c);

/* Reads one reply without sending (a subscriber's messages), waiting at
 * most timeout_ms.  Returns the reply (caller frees), or NULL: *timed_out
 * says whether it was a timeout (the connection is fine) or a failure. */
redisReply *rconn_read(struct rconn *c, int timeout_ms, bool *timed_out);

/* What Redis's clock says now (ours, corrected by what its TIME said when
 * this connection was made): for deadlines a script checks against TIME. */
int64_t rconn_redis_ms(const struct rconn *c);

/* Why the last command or connect failed. */
const char *rconn_error(const struct rconn *c);

/* The number of commands sent since creation (for the benchmark's count
 * of commands per publish and per heartbeat). */
uint64_t rconn_commands(const struct rconn *c);

#endif

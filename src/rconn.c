/* rconn.c -- one connection to Redis (see rconn.h). */
#include "autoconf.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "percent.h"
#include "rconn.h"
#include "timeutil.h"

struct rconn {
    struct rconn_url url;
    char name[64];                  /* CLIENT SETNAME */
    redisContext *ctx;              /* NULL: not connected */
    int64_t failed_mono;            /* last failure; 0: none */
    size_t appended;                /* commands queued by rconn_append */
    uint64_t commands;
    int64_t skew_ms;                /* Redis's clock minus ours, measured at connect */
    char error[160];
};


int rconn_url_parse(const char *s, struct rconn_url *u, char *err, size_t errlen)
{
    memset(u, 0, sizeof *u);
    const char *rest;
    if (strncmp(s, "redis://", 8) == 0) {
        rest = s + 8;
    } else if (strncmp(s, "unix://", 7) == 0) {
        u->unix_socket = true;
        rest = s + 7;
    } else {
        snprintf(err, errlen, "--cluster: use redis://[user:password@]HOST:PORT[/DB] "
                              "or unix:///path/redis.sock");
        return -1;
    }
    /* Credentials: up to the last '@' before the first '/' (the socket's
     * path, or the database); an '@' in a password is written %40. */
    const char *slash = strchr(rest, '/');
    const char *at = NULL;
    for (const char *p = rest; *p && (!slash || p < slash); p++)
        if (*p == '@')
            at = p;
    if (at) {
        const char *colon = memchr(rest, ':', (size_t)(at - rest));
        const char *pw = colon ? colon + 1 : rest;
        if (colon && percent_decode(rest, (size_t)(colon - rest), false, u->user, sizeof u->user) < 0) {
            snprintf(err, errlen, "--cluster: bad user name");
            return -1;
        }
        if (percent_decode(pw, (size_t)(at - pw), false, u->password, sizeof u->password) < 0 || !u->password[0]) {
            snprintf(err, errlen, "--cluster: bad password");
            return -1;
        }
        rest = at + 1;
    }
    if (u->unix_socket) {
        const char *q = strchr(rest, '?');
        size_t n = q ? (size_t)(q - rest) : strlen(rest);
        if (n == 0 || rest[0] != '/' || n > RCONN_HOST_MAX) {
            snprintf(err, errlen, "--cluster: unix:// needs an absolute socket path");
            return -1;
        }
        memcpy(u->host, rest, n);
        u->host[n] = '\0';
        if (q) {
            char *end;
            if (strncmp(q, "?db=", 4) != 0 || (u->db = (int)strtol(q + 4, &end, 10), *end) ||
                u->db < 0 || u->db > 1000) {
                snprintf(err, errlen, "--cluster: after the socket path only ?db=N");
                return -1;
            }
        }
        return 0;
    }
    const char *colon = strrchr(rest, ':');
    slash = strchr(rest, '/');
    if (slash && colon > slash)
        colon = memrchr(rest, ':', (size_t)(slash - rest));
    if (!colon || (slash && colon > slash) || colon == rest) {
        snprintf(err, errlen, "--cluster: redis:// needs HOST:PORT");
        return -1;
    }
    size_t hn = (size_t)(colon - rest);
    if (hn > RCONN_HOST_MAX) {
        snprintf(err, errlen, "--cluster: host name too long");
        return -1;
    }
    memcpy(u->host, rest, hn);
    u->host[hn] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || port < 1 || port > 65535 || (*end && *end != '/')) {
        snprintf(err, errlen, "--cluster: bad port");
        return -1;
    }
    u->port = (int)port;
    if (*end == '/' && end[1]) {
        char *e2;
        long db = strtol(end + 1, &e2, 10);
        if (e2 == end + 1 || *e2 || db < 0 || db > 1000) {
            snprintf(err, errlen, "--cluster: bad database number");
            return -1;
        }
        u->db = (int)db;
    }
    return 0;
}

const char *rconn_url_safe(const struct rconn_url *u, char *out, size_t cap)
{
    const char *cred = u->password[0] ? (u->user[0] ? "***:***@" : "***@") : "";
    if (u->unix_socket)
        snprintf(out, cap, "unix://%s%s?db=%d", cred, u->host, u->db);
    else
        snprintf(out, cap, "redis://%s%s:%d/%d", cred, u->host, u->port, u->db);
    return out;
}

struct rconn *rconn_create(const struct rconn_url *u, const char *name)
{
    struct rconn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->url = *u;
    snprintf(c->name, sizeof c->name, "%s", name);
    return c;
}

static void drop(struct rconn *c, const char *why)
{
    if (c->ctx) {
        snprintf(c->error, sizeof c->error, "%s", why && *why ? why : "connection lost");
        redisFree(c->ctx);
        c->ctx = NULL;
    }
    c->appended = 0;
    c->failed_mono = time_mono_ms();
}

void rconn_free(struct rconn *c)
{
    if (!c)
        return;
    if (c->ctx)
        redisFree(c->ctx);
    free(c);
}

bool rconn_up(const struct rconn *c)
{
    return c->ctx != NULL;
}

const char *rconn_error(const struct rconn *c)
{
    return c->error[0] ? c->error : "not connected";
}

int64_t rconn_redis_ms(const struct rconn *c)
{
    return time_now_ms() + c->skew_ms;
}

uint64_t rconn_commands(const struct rconn *c)
{
    return c->commands;
}

/* One setup command right after connecting; false (with the error kept) if
 * it failed. */
static bool setup(struct rconn *c, int argc, const char **argv)
{
    redisReply *r = redisCommandArgv(c->ctx, argc, argv, NULL);
    bool ok = r && r->type != REDIS_REPLY_ERROR;
    if (!ok)
        snprintf(c->error, sizeof c->error, "%s: %s", argv[0],
                 r ? r->str : c->ctx->errstr);
    if (r)
        freeReplyObject(r);
    return ok;
}

int rconn_ensure(struct rconn *c)
{
    if (c->ctx)
        return 0;
    if (c->failed_mono && time_mono_ms() - c->failed_mono < RCONN_RETRY_MS)
        return -1;
    struct timeval tv = { RCONN_TIMEOUT_MS / 1000, (RCONN_TIMEOUT_MS % 1000) * 1000 };
    c->ctx = c->url.unix_socket ? redisConnectUnixWithTimeout(c->url.host, tv)
                                : redisConnectWithTimeout(c->url.host, c->url.port, tv);
    if (!c->ctx || c->ctx->err) {
        snprintf(c->error, sizeof c->error, "connect: %s",
                 c->ctx ? c->ctx->errstr : "out of memory");
        if (c->ctx)
            redisFree(c->ctx);
        c->ctx = NULL;
        c->failed_mono = time_mono_ms();
        return -1;
    }
    redisSetTimeout(c->ctx, tv);
    bool ok = true;
    if (c->url.password[0]) {
        const char *auth[] = { "AUTH", c->url.user, c->url.password };
        ok = c->url.user[0] ? setup(c, 3, auth) : setup(c, 2, (const char *[]){ "AUTH", c->url.password });
    }
    char db[16];
    snprintf(db, sizeof db, "%d", c->url.db);
    if (ok && c->url.db)
        ok = setup(c, 2, (const char *[]){ "SELECT", db });
    if (ok && c->name[0])
        ok = setup(c, 3, (const char *[]){ "CLIENT", "SETNAME", c->name });
    if (ok) {
        /* Redis's clock, for deadlines it checks itself (rconn_redis_ms). */
        int64_t t0 = time_now_ms();
        redisReply *r = redisCommand(c->ctx, "TIME");
        int64_t t1 = time_now_ms();
        ok = r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 && r->element[0]->str &&
             r->element[1]->str;
        if (ok)
            c->skew_ms = strtoll(r->element[0]->str, NULL, 10) * 1000 +
                         strtoll(r->element[1]->str, NULL, 10) / 1000 - (t0 + t1) / 2;
        else
            snprintf(c->error, sizeof c->error, "TIME: %s", r ? (r->str ? r->str : "?") : c->ctx->errstr);
        if (r)
            freeReplyObject(r);
    }
    if (!ok) {
        char why[sizeof c->error];
        snprintf(why, sizeof why, "%s", c->error);
        redisFree(c->ctx);
        c->ctx = NULL;
        snprintf(c->error, sizeof c->error, "%s", why);
        c->failed_mono = time_mono_ms();
        return -1;
    }
    c->failed_mono = 0;
    c->error[0] = '\0';
    return 0;
}

redisReply *rconn_command(struct rconn *c, int argc, const char **argv, const size_t *argvlen)
{
    if (rconn_ensure(c) < 0)
        return NULL;
    c->commands++;
    redisReply *r = redisCommandArgv(c->ctx, argc, argv, argvlen);
    if (!r)
        drop(c, c->ctx->errstr);
    return r;
}

redisReply *rconn_commandf(struct rconn *c, const char *fmt, ...)
{
    if (rconn_ensure(c) < 0)
        return NULL;
    c->commands++;
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c->ctx, fmt, ap);
    va_end(ap);
    if (!r)
        drop(c, c->ctx->errstr);
    return r;
}

int rconn_append(struct rconn *c, int argc, const char **argv, const size_t *argvlen)
{
    /* A pipeline whose connection failed on the way stays failed: a new
     * connection would not have the commands appended before. */
    if (c->appended ? !c->ctx : rconn_ensure(c) < 0)
        return -1;
    if (redisAppendCommandArgv(c->ctx, argc, argv, argvlen) != REDIS_OK) {
        drop(c, c->ctx->errstr);
        return -1;
    }
    c->appended++;
    c->commands++;
    return 0;
}

int rconn_flush(struct rconn *c, void (*fn)(void *ctx, size_t i, redisReply *r), void *ctx)
{
    size_t n = c->appended;
    c->appended = 0;
    for (size_t i = 0; i < n; i++) {
        if (!c->ctx)
            return -1;
        void *r = NULL;
        if (redisGetReply(c->ctx, &r) != REDIS_OK) {
            drop(c, c->ctx->errstr);
            return -1;
        }
        if (fn)
            fn(ctx, i, r);
        freeReplyObject(r);
    }
    return 0;
}

redisReply *rconn_read_pipelined(struct rconn *c)
{
    if (!c->ctx || !c->appended)
        return NULL;
    void *r = NULL;
    if (redisGetReply(c->ctx, &r) != REDIS_OK) {
        drop(c, c->ctx->errstr);
        return NULL;
    }
    c->appended--;
    return r;
}

redisReply *rconn_read(struct rconn *c, int timeout_ms, bool *timed_out)
{
    *timed_out = false;
    if (!c->ctx)
        return NULL;
    void *r = NULL;
    if (redisGetReplyFromReader(c->ctx, &r) != REDIS_OK) {
        drop(c, c->ctx->errstr);
        return NULL;
    }
    if (r)
        return r;
    struct pollfd p = { .fd = c->ctx->fd, .events = POLLIN };
    int n = poll(&p, 1, timeout_ms);
    if (n == 0 || (n < 0 && errno == EINTR)) {
        *timed_out = true;
        return NULL;
    }
    if (redisGetReply(c->ctx, &r) != REDIS_OK) {
        drop(c, c->ctx->errstr);
        return NULL;
    }
    return r;
}

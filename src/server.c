/* server.c -- worker pool and lifecycle (see server.h). */
#include "autoconf.h"

#include <fcgiapp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cluster.h"
#include "displays.h"
#include "feed.h"
#include "handlers.h"
#include "hub.h"
#include "intake.h"
#include "log.h"
#include "metrics.h"
#include "monitor.h"
#include "registry.h"
#include "server.h"
#include "stream.h"
#include "timeutil.h"
#include "window.h"

#define IO_TIMEOUT_MS 3000              /* SO_SNDTIMEO / SO_RCVTIMEO on requests */
#define FD_RESERVE 64                   /* fds kept for short requests and files */

struct server {
    struct options opt;
    char node[CONN_NODE_MAX + 1];       /* a cluster node's name, or "" */
    struct registry *reg;
    struct hub *hub;                    /* publishing (hub.h) */
    struct window *win;
    struct metrics *metrics;
    struct displays_slot *displays;     /* known display names */
    struct stream_loops *loops;
    struct monitor *monitor;            /* the pushed monitor's thread */
    bool roster_subscribed;             /* roster_seen() is on the hub's feed */
    struct handlers_env env;            /* what the workers' handlers see */
    int64_t started_mono_ms;

    int listen_fd;
    bool own_socket;
    struct intake *intake;              /* accepts; hands whole requests over */
    atomic_bool stopping;
    int nworkers;
    pthread_t *workers;

    pthread_mutex_t mu;                 /* guards streams and streams_ended */
    pthread_cond_t cond;                /* signalled when streams falls */
    size_t streams;                     /* handed over and not yet answered */
    uint64_t streams_ended;             /* answered in full since the start */
};

static void roster_seen(void *ctx, const struct feed_change *ch);

struct server *server_create(const struct options *o, char *err, size_t errlen)
{
    struct server *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->opt = *o;
    s->listen_fd = -1;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cond, NULL);
    s->win = window_create();
    s->metrics = metrics_create();
    s->displays = displays_slot_create();
    s->started_mono_ms = time_mono_ms();
    if (!s->win || !s->metrics || !s->displays) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (server_reload(s, o->displays_file, err, errlen) < 0)
        goto fail;
    s->opt.displays_file = NULL;        /* argv's: not kept */
    return s;
fail:
    server_free(s);
    return NULL;
}

void server_free(struct server *s)
{
    if (!s)
        return;
    intake_free(s->intake);
    stream_loops_stop(s->loops);
    monitor_stop(s->monitor);
    if (s->roster_subscribed)
        feed_unsubscribe(hub_feed(s->hub), roster_seen, s);
    hub_free(s->hub);
    registry_free(s->reg);
    window_free(s->win);
    metrics_free(s->metrics);
    displays_slot_free(s->displays);
    free(s->workers);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cond);
    free(s);
}

int server_reload(struct server *s, const char *displays_file, char *err, size_t errlen)
{
    struct displays *d = NULL;
    if (displays_file && !(d = displays_load(displays_file, err, errlen)))
        return -1;
    struct stat st;
    if (d && displays_keyed(d) && stat(displays_file, &st) == 0 && (st.st_mode & S_IROTH))
        log_warn("%s holds display keys and every user may read it: chmod o-r, or give "
                 "the keys as sha256:", displays_file);
    displays_slot_set(s->displays, d);
    if (d)
        log_info("%zu display names (%zu with a key) from %s", displays_count(d), displays_keyed(d),
                 displays_file);
    else
        log_info("any valid display name is accepted");
    return 0;
}

size_t server_streams(struct server *s)
{
    pthread_mutex_lock(&s->mu);
    size_t n = s->streams;
    pthread_mutex_unlock(&s->mu);
    return n;
}

uint64_t server_streams_ended(struct server *s)
{
    pthread_mutex_lock(&s->mu);
    uint64_t n = s->streams_ended;
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* The loops' count of streams in flight (stream_env): server_stop() waits
 * for it to reach 0, and the main thread trims memory when streams end. */
static void streams_changed(void *ctx, int delta)
{
    struct server *s = ctx;
    pthread_mutex_lock(&s->mu);
    if (delta > 0) {
        s->streams++;
    } else {
        s->streams--;
        s->streams_ended++;
        pthread_cond_broadcast(&s->cond);
    }
    pthread_mutex_unlock(&s->mu);
}

static size_t streams_in_flight(void *ctx)
{
    return server_streams(ctx);
}

/* The hub's feed, for the roster: remembers when each expected display's
 * stream closed (its "last seen").  Called with the registry and feed
 * mutexes held; the displays slot's is a leaf. */
static void roster_seen(void *ctx, const struct feed_change *ch)
{
    struct server *s = ctx;
    if (ch->kind != FEED_CLOSED || ch->info->type != CONN_DISPLAY)
        return;
    struct displays *d = displays_slot_get(s->displays);
    if (d)
        displays_seen(d, ch->info->name, ch->at_ms);
    displays_free(d);
}

static bool roster_wanted(void *ctx)
{
    struct server *s = ctx;
    return displays_slot_has(s->displays);
}

/* Bounds every blocking read and write on a request's socket, so a web
 * server that stops reading or sending cannot hold a thread forever. */
static void set_io_timeouts(int fd)
{
    struct timeval tv = { IO_TIMEOUT_MS / 1000, (IO_TIMEOUT_MS % 1000) * 1000 };
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

static void *worker_main(void *arg)
{
    struct server *s = arg;
    FCGX_Request request, *req = &request;
    /* No listening socket: libfcgi never accepts here.  The intake hands
     * over connections whose request is whole, and FCGX_Accept_r reads a
     * request from req->ipcFd when it is set -- after finishing the
     * request before, which would close that fd unless keepConnection
     * says to keep it (set here; the request's own flags replace it). */
    FCGX_InitRequest(req, -1, 0);
    struct intake_conn conn;
    while (intake_next(s->intake, &conn) == 0) {
        set_io_timeouts(conn.fd);
        req->ipcFd = conn.fd;
        req->keepConnection = 1;
        if (FCGX_Accept_r(req) < 0)
            continue;                   /* libfcgi refused it, and closed it */
        if (conn.nul_param) {
            handlers_bad_request(&s->env, req, "A request parameter holds a NUL byte");
        } else if (handlers_dispatch(&s->env, req)) {
            /* The socket is a stream loop's now: free libfcgi's side of the
             * request without closing it, and start afresh. */
            FCGX_Free(req, 0);
            FCGX_InitRequest(req, -1, 0);
            continue;
        }
        /* Never keep the connection: with keepConnection set (a web server
         * asking for FCGI_KEEP_CONN), FCGX_Finish_r leaves the fd open, and
         * a request freed after it would leak one fd each time. */
        req->keepConnection = 0;
        FCGX_Finish_r(req);
    }
    FCGX_Free(req, 1);
    return NULL;
}

/* Raises the soft fd limit to the hard one; returns the soft limit now. */
static rlim_t raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 1024;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            getrlimit(RLIMIT_NOFILE, &rl);
    }
    return rl.rlim_cur;
}

int server_start(struct server *s, int fd, bool own_socket, char *err, size_t errlen)
{
    /* Make FCGX_Finish_r's linger (reading to EOF after shutdown) short:
     * the web server closes at once when it gets END_REQUEST. */
    setenv("LIBFCGI_OS_CLOSE_POLL_TIMEOUT", "500", 0);
    if (FCGX_Init() != 0) {
        snprintf(err, errlen, "FCGX_Init failed");
        return -1;
    }
    /* libfcgi installed its own SIGPIPE handler; a write to a closed socket
     * must just fail with EPIPE. */
    signal(SIGPIPE, SIG_IGN);

    rlim_t nofile = raise_nofile();
    rlim_t overhead = FD_RESERVE + (rlim_t)s->opt.threads + 2 * (rlim_t)s->opt.io_threads;
    size_t budget = nofile > overhead ? (size_t)(nofile - overhead) : 1;
    size_t max = s->opt.max_connections < budget ? s->opt.max_connections : budget;
    if (max < s->opt.max_connections)
        log_warn("open-file limit %llu allows only %zu streams (asked for %zu)",
                 (unsigned long long)nofile, max, s->opt.max_connections);
    s->reg = registry_create(max, s->opt.max_per_user, s->opt.max_per_address);
    /* Ids start at the start time in ms, so ids from an earlier run are
     * older than anything this one issues: Last-Event-ID from before a
     * restart gets `reset`, never a wrong replay. */
    if (!s->reg) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (s->opt.cluster) {
        struct cluster_options co = {
            .heartbeat_ms = s->opt.heartbeat_ms,
            .history_max = s->opt.history,
            .history_age_ms = s->opt.history_age_ms,
            .max_per_user = s->opt.max_per_user,
            .max_per_address = s->opt.max_per_address,
        };
        rconn_url_parse(s->opt.cluster, &co.url, err, errlen);     /* checked by options */
        if (s->opt.node)
            snprintf(co.node, sizeof co.node, "%s", s->opt.node);
        else
            cluster_default_node(co.node);
        memcpy(s->node, co.node, sizeof s->node);
        s->hub = hub_redis_create(s->reg, s->metrics, &co, err, errlen);
        if (!s->hub)
            return -1;
    } else {
        s->hub = hub_local_create(s->reg, s->metrics, s->opt.history, s->opt.history_age_ms,
                                  (uint64_t)time_now_ms());
        if (!s->hub) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    s->listen_fd = fd;
    s->own_socket = own_socket;

    /* Threads inherit the creator's mask: block everything asynchronous
     * while creating them. */
    sigset_t all, old;
    sigfillset(&all);
    sigdelset(&all, SIGSEGV);
    sigdelset(&all, SIGBUS);
    sigdelset(&all, SIGFPE);
    sigdelset(&all, SIGILL);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    struct stream_env env = {
        .heartbeat_ms = s->opt.heartbeat_ms,
        .reg = s->reg,
        .metrics = s->metrics,
        .win = s->win,
        .streams_changed = streams_changed,
        .ctx = s,
        .node = s->node[0] ? s->node : NULL,
    };
    s->loops = stream_loops_start(&env, s->opt.io_threads, err, errlen);
    struct monitor_env menv = {
        .hub = s->hub,
        .reg = s->reg,
        .win = s->win,
        .displays = s->displays,
        .heartbeat_ms = s->opt.heartbeat_ms,
    };
    if (s->loops)
        s->monitor = monitor_start(&menv, err, errlen);
    if (!s->monitor) {
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        return -1;
    }
    if (feed_subscribe(hub_feed(s->hub), roster_seen, roster_wanted, s) < 0) {
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    s->roster_subscribed = true;
    s->env = (struct handlers_env){
        .opt = &s->opt,
        .hub = s->hub,
        .reg = s->reg,
        .loops = s->loops,
        .metrics = s->metrics,
        .win = s->win,
        .displays = s->displays,
        .monitor = s->monitor,
        .stopping = &s->stopping,
        .started_mono_ms = s->started_mono_ms,
        .streams = streams_in_flight,
        .ctx = s,
    };
    s->intake = intake_start(fd, s->opt.request_timeout_ms, HANDLERS_BODY_MAX, s->metrics,
                             err, errlen);
    if (!s->intake) {
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        return -1;
    }
    s->workers = calloc((size_t)s->opt.threads, sizeof *s->workers);
    int rc = s->workers ? 0 : ENOMEM;
    for (int i = 0; rc == 0 && i < s->opt.threads; i++) {
        rc = pthread_create(&s->workers[i], NULL, worker_main, s);
        if (rc == 0)
            s->nworkers++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start worker threads: %s", strerror(rc));
        server_stop(s, time_mono_ms() + 1000);
        return -1;
    }
    log_info("serving with %d workers and %d I/O loops, heartbeat %.3g s, up to %zu streams, "
             "prefix '%s'", s->opt.threads, stream_loops_count(s->loops), (double)s->opt.heartbeat_ms / 1000, max,
             s->opt.prefix);
    return 0;
}

/* Waits on s->cond until it is signalled or the deadline passes.  Called
 * with s->mu held. */
static void wait_until(struct server *s, int64_t deadline_ms)
{
    int64_t left = deadline_ms - time_mono_ms();
    if (left <= 0)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t ns = ts.tv_nsec + (left % 1000) * 1000000;
    ts.tv_sec += left / 1000 + ns / 1000000000;
    ts.tv_nsec = ns % 1000000000;
    pthread_cond_timedwait(&s->cond, &s->mu, &ts);
}

size_t server_stop(struct server *s, int64_t deadline_ms)
{
    atomic_store(&s->stopping, true);
    /* No more connections; the workers finish what they have and leave.
     * An inherited socket stays open for whoever hands it on. */
    if (s->intake)
        intake_stop(s->intake);
    if (s->own_socket && s->listen_fd >= 0)
        shutdown(s->listen_fd, SHUT_RDWR);
    for (int i = 0; i < s->nworkers; i++)
        pthread_join(s->workers[i], NULL);
    s->nworkers = 0;
    size_t closed = s->reg ? registry_remove_all(s->reg, CLOSE_SHUTDOWN) : 0;
    if (closed)
        log_info("closing %zu streams", closed);
    pthread_mutex_lock(&s->mu);
    while (s->streams > 0 && time_mono_ms() < deadline_ms) {
        /* A stream registered just now may still be joining the registry;
         * sweep again on every wake-up. */
        pthread_mutex_unlock(&s->mu);
        if (s->reg)
            registry_remove_all(s->reg, CLOSE_SHUTDOWN);
        pthread_mutex_lock(&s->mu);
        if (s->streams > 0)
            wait_until(s, deadline_ms < time_mono_ms() + 100 ? deadline_ms : time_mono_ms() + 100);
    }
    size_t left = s->streams;
    pthread_mutex_unlock(&s->mu);
    return left;
}

/* intake.c -- accepting connections and handing over whole requests (see
 * intake.h). */
#include "autoconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fcgi_request.h"
#include "intake.h"
#include "log.h"
#include "metrics.h"
#include "timeutil.h"

#define EVENTS_MAX 64
#define ACCEPT_BATCH 256            /* connections accepted in one go */
#define ACCEPT_PAUSE_MS 50          /* accept failed (out of fds): stop this long */
#define WARN_EVERY_MS 10000         /* at most one warning of drops this often */
#define ADDRS_MAX 16                /* FCGI_WEB_SERVER_ADDRS entries kept */
/* A request whose params are whole and whose body has this much waiting is
 * handed over before the body is whole: Apache sends a unix socket no more
 * than about 50 KiB that nobody reads (it waits for the socket to be
 * writable, which it is only while under a quarter of its buffer is
 * queued), so a 64 KiB publish would never be whole here.  The worker reads
 * the rest with its socket's timeouts. */
#define BODY_HANDOVER (32 * 1024)

/* A connection accepted whose request is not yet whole (on the watch
 * list, oldest first: all share one timeout, so that is deadline order),
 * or whole and queued for a worker (on the ready list). */
struct pending {
    int fd;
    bool nul_param;
    int64_t deadline;               /* monotonic ms */
    struct pending *prev, *next;
};

struct intake {
    int listen_fd;
    int listen_flags;               /* as found: put back on stop */
    int epfd, wakefd;
    int64_t timeout_ms;
    size_t body_max, cap;
    struct metrics *metrics;
    uint8_t *peek;                  /* cap bytes: one connection's request at a time */
    in_addr_t addrs[ADDRS_MAX];     /* FCGI_WEB_SERVER_ADDRS; naddrs 0: any */
    size_t naddrs;
    pthread_t thread;
    bool started;

    /* The intake thread's alone. */
    struct pending *watch_head, *watch_tail;
    size_t nwatch;
    int64_t accept_paused_until;    /* out of fds: monotonic ms, 0 if accepting */
    int64_t last_warn;
    uint64_t dropped_since_warn;

    /* Under mu. */
    pthread_mutex_t mu;
    pthread_cond_t cond;            /* a request is ready, or stopping */
    struct pending *ready_head, *ready_tail;
    bool stopping;
    atomic_size_t watched;          /* nwatch, for intake_watched() */
};

static void list_append(struct pending **head, struct pending **tail, struct pending *p)
{
    p->next = NULL;
    p->prev = *tail;
    if (*tail)
        (*tail)->next = p;
    else
        *head = p;
    *tail = p;
}

static void list_remove(struct pending **head, struct pending **tail, struct pending *p)
{
    if (p->prev)
        p->prev->next = p->next;
    else
        *head = p->next;
    if (p->next)
        p->next->prev = p->prev;
    else
        *tail = p->prev;
    p->prev = p->next = NULL;
}

/* libfcgi's FCGI_WEB_SERVER_ADDRS, which its own accept honoured: a comma
 * list of the IPv4 addresses a TCP peer may have. */
static void read_web_server_addrs(struct intake *in)
{
    const char *env = getenv("FCGI_WEB_SERVER_ADDRS");
    if (!env || !*env)
        return;
    char copy[ADDRS_MAX * 16 + 1];
    snprintf(copy, sizeof copy, "%s", env);
    for (char *save, *t = strtok_r(copy, ", \t", &save); t; t = strtok_r(NULL, ", \t", &save)) {
        struct in_addr a;
        if (inet_pton(AF_INET, t, &a) != 1) {
            log_warn("FCGI_WEB_SERVER_ADDRS: '%s' is not an IPv4 address; ignored", t);
            continue;
        }
        if (in->naddrs == ADDRS_MAX) {
            log_warn("FCGI_WEB_SERVER_ADDRS: only the first %d addresses are used", ADDRS_MAX);
            break;
        }
        in->addrs[in->naddrs++] = a.s_addr;
    }
    if (!in->naddrs)                /* a list of nothing valid lets nobody in */
        in->addrs[in->naddrs++] = htonl(INADDR_NONE);
}

static bool peer_allowed(const struct intake *in, const struct sockaddr_storage *sa)
{
    if (!in->naddrs || sa->ss_family != AF_INET)
        return true;
    in_addr_t a = ((const struct sockaddr_in *)sa)->sin_addr.s_addr;
    for (size_t i = 0; i < in->naddrs; i++)
        if (in->addrs[i] == a)
            return true;
    return false;
}

/* Counts a connection closed before it reached a worker, and says so now
 * and then (a peer that keeps doing it should be noticed, not flood the
 * log). */
static void dropped(struct intake *in, enum metrics_counter why, const char *what)
{
    if (in->metrics)
        metrics_add(in->metrics, why, 1);
    in->dropped_since_warn++;
    int64_t now = time_mono_ms();
    log_debug("connection closed before its request reached a worker: %s", what);
    if (now - in->last_warn >= WARN_EVERY_MS) {
        log_warn("closed %llu connection(s) whose request did not reach a worker (the last: "
                 "%s); see sse_requests_incomplete_total and sse_requests_invalid_total",
                 (unsigned long long)in->dropped_since_warn, what);
        in->last_warn = now;
        in->dropped_since_warn = 0;
    }
}

/* Counts a connection whose peer hung up (or reset it) before its request
 * was whole.  Nothing to warn about: a web server does that when its own
 * client goes away while it is still sending, and the peer holds nothing
 * of ours any more. */
static void hung_up(struct intake *in, const char *what)
{
    if (in->metrics)
        metrics_add(in->metrics, METRIC_REQUESTS_INCOMPLETE, 1);
    log_debug("connection closed before its request reached a worker: %s", what);
}

/* Closes a watched connection. */
static void unwatch_close(struct intake *in, struct pending *p)
{
    list_remove(&in->watch_head, &in->watch_tail, p);
    in->nwatch--;
    atomic_store(&in->watched, in->nwatch);
    close(p->fd);                   /* also leaves the epoll set */
    free(p);
}

/* Queues a watched connection whose request is whole for a worker. */
static void hand_over(struct intake *in, struct pending *p)
{
    epoll_ctl(in->epfd, EPOLL_CTL_DEL, p->fd, NULL);
    list_remove(&in->watch_head, &in->watch_tail, p);
    in->nwatch--;
    atomic_store(&in->watched, in->nwatch);
    pthread_mutex_lock(&in->mu);
    list_append(&in->ready_head, &in->ready_tail, p);
    pthread_cond_signal(&in->cond);
    pthread_mutex_unlock(&in->mu);
}

/* Looks at what p's peer has sent so far, without consuming it: hands p
 * over once its request is whole, closes it if it is not a request or the
 * peer is done sending (hup) before it is whole. */
static void examine(struct intake *in, struct pending *p, bool hup)
{
    int avail = 0;
    if (ioctl(p->fd, FIONREAD, &avail) < 0)
        avail = 0;
    size_t want = (size_t)avail < in->cap ? (size_t)avail : in->cap;
    ssize_t n = want ? recv(p->fd, in->peek, want, MSG_PEEK | MSG_DONTWAIT) : 0;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) && !hup)
        return;
    if (n < 0) {
        hung_up(in, strerror(errno));
        unwatch_close(in, p);
        return;
    }
    struct fcgi_request_info info;
    switch (fcgi_request_scan(in->peek, (size_t)n, in->body_max, in->cap, &info)) {
    case FCGI_REQUEST_WHOLE:
        p->nul_param = info.nul_param;
        hand_over(in, p);
        return;
    case FCGI_REQUEST_INVALID:
        dropped(in, METRIC_REQUESTS_INVALID, info.why);
        unwatch_close(in, p);
        return;
    case FCGI_REQUEST_PARTIAL:
        if (info.params_whole && (size_t)n >= BODY_HANDOVER && !hup) {
            p->nul_param = info.nul_param;
            hand_over(in, p);
            return;
        }
        if (hup) {
            hung_up(in, "the peer hung up before its request was whole");
            unwatch_close(in, p);
        }
        return;
    }
}

/* Accepts what is waiting on the listening socket. */
static void accept_all(struct intake *in)
{
    /* A batch at a time: the listening socket stays ready for the rest,
     * and the connections already watched get their turn meanwhile. */
    for (int k = 0; k < ACCEPT_BATCH; k++) {
        struct sockaddr_storage sa;
        socklen_t salen = sizeof sa;
        int fd = accept4(in->listen_fd, (struct sockaddr *)&sa, &salen, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            /* Out of fds (EMFILE, ENFILE) or anything else: the listening
             * socket stays readable and would spin, so back off.  Streams
             * keep their fds; requests wait in the backlog meanwhile (the
             * streams' own limit answers 503 well before this). */
            int64_t now = time_mono_ms();
            if (now - in->last_warn >= WARN_EVERY_MS) {
                log_warn("accept failed: %s; pausing %d ms", strerror(errno), ACCEPT_PAUSE_MS);
                in->last_warn = now;
            }
            epoll_ctl(in->epfd, EPOLL_CTL_DEL, in->listen_fd, NULL);
            in->accept_paused_until = now + ACCEPT_PAUSE_MS;
            return;
        }
        if (!peer_allowed(in, &sa)) {
            close(fd);
            dropped(in, METRIC_REQUESTS_INVALID, "a TCP peer not in FCGI_WEB_SERVER_ADDRS");
            continue;
        }
        struct pending *p = calloc(1, sizeof *p);
        if (!p) {
            close(fd);
            continue;
        }
        p->fd = fd;
        p->deadline = time_mono_ms() + in->timeout_ms;
        /* Edge-triggered: peeking leaves the bytes there, so a level-
         * triggered socket would stay ready; each arrival wakes us once. */
        struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | EPOLLET, .data.ptr = p };
        if (epoll_ctl(in->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
            close(fd);
            free(p);
            continue;
        }
        list_append(&in->watch_head, &in->watch_tail, p);
        in->nwatch++;
        atomic_store(&in->watched, in->nwatch);
    }
}

/* Past INTAKE_WATCH_MAX, closes the oldest.  Not in accept_all(): an
 * event for the one closed may wait further on in the batch being served. */
static void crowd_out(struct intake *in)
{
    while (in->nwatch > INTAKE_WATCH_MAX) {
        dropped(in, METRIC_REQUESTS_INCOMPLETE, "the oldest of too many unfinished requests");
        unwatch_close(in, in->watch_head);
    }
}

/* Closes the connections past their deadline; returns the ms until the
 * next one's (-1: none). */
static int expire(struct intake *in, int64_t now)
{
    while (in->watch_head && in->watch_head->deadline <= now) {
        char what[96];
        snprintf(what, sizeof what, "no whole request within %.3g s",
                 (double)in->timeout_ms / 1000);
        dropped(in, METRIC_REQUESTS_INCOMPLETE, what);
        unwatch_close(in, in->watch_head);
    }
    int64_t wait = in->watch_head ? in->watch_head->deadline - now : -1;
    if (in->accept_paused_until && (wait < 0 || in->accept_paused_until - now < wait))
        wait = in->accept_paused_until - now;
    return wait < 0 ? -1 : wait > 60000 ? 60000 : (int)wait;
}

static void *intake_main(void *arg)
{
    struct intake *in = arg;
    struct epoll_event evs[EVENTS_MAX];
    for (;;) {
        int64_t now = time_mono_ms();
        if (in->accept_paused_until && now >= in->accept_paused_until) {
            struct epoll_event ev = { .events = EPOLLIN, .data.ptr = in };
            epoll_ctl(in->epfd, EPOLL_CTL_ADD, in->listen_fd, &ev);
            in->accept_paused_until = 0;
        }
        int n = epoll_wait(in->epfd, evs, EVENTS_MAX, expire(in, now));
        if (n < 0 && errno != EINTR) {
            log_error("intake: epoll_wait: %s", strerror(errno));
            break;
        }
        for (int i = 0; i < n; i++) {
            void *ptr = evs[i].data.ptr;
            if (ptr == &in->wakefd)
                goto out;
            if (ptr == in)
                accept_all(in);
            else
                examine(in, ptr, evs[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR));
        }
        crowd_out(in);
    }
out:
    return NULL;
}

struct intake *intake_start(int listen_fd, int64_t timeout_ms, size_t body_max,
                            struct metrics *m, char *err, size_t errlen)
{
    struct intake *in = calloc(1, sizeof *in);
    if (!in) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    in->listen_fd = listen_fd;
    in->listen_flags = -1;
    in->epfd = in->wakefd = -1;
    in->timeout_ms = timeout_ms;
    in->body_max = body_max;
    in->cap = FCGI_REQUEST_CAP(body_max);
    in->metrics = m;
    pthread_mutex_init(&in->mu, NULL);
    pthread_cond_init(&in->cond, NULL);
    atomic_init(&in->watched, 0);
    read_web_server_addrs(in);
    in->peek = malloc(in->cap);
    in->epfd = epoll_create1(EPOLL_CLOEXEC);
    in->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (!in->peek || in->epfd < 0 || in->wakefd < 0) {
        snprintf(err, errlen, "intake: %s", strerror(errno ? errno : ENOMEM));
        goto fail;
    }
    /* Non-blocking while we accept: epoll may report a connection that is
     * gone by the time accept() runs (a reset in the backlog). */
    in->listen_flags = fcntl(listen_fd, F_GETFL);
    if (in->listen_flags < 0 || fcntl(listen_fd, F_SETFL, in->listen_flags | O_NONBLOCK) < 0) {
        snprintf(err, errlen, "intake: the listening socket: %s", strerror(errno));
        goto fail;
    }
    struct epoll_event lev = { .events = EPOLLIN, .data.ptr = in };
    struct epoll_event wev = { .events = EPOLLIN, .data.ptr = &in->wakefd };
    if (epoll_ctl(in->epfd, EPOLL_CTL_ADD, listen_fd, &lev) != 0 ||
        epoll_ctl(in->epfd, EPOLL_CTL_ADD, in->wakefd, &wev) != 0) {
        snprintf(err, errlen, "intake: epoll_ctl: %s", strerror(errno));
        goto fail;
    }
    int rc = pthread_create(&in->thread, NULL, intake_main, in);
    if (rc != 0) {
        snprintf(err, errlen, "intake: cannot start its thread: %s", strerror(rc));
        goto fail;
    }
    in->started = true;
    return in;
fail:
    intake_free(in);
    return NULL;
}

int intake_next(struct intake *in, struct intake_conn *out)
{
    pthread_mutex_lock(&in->mu);
    while (!in->stopping && !in->ready_head)
        pthread_cond_wait(&in->cond, &in->mu);
    struct pending *p = in->stopping ? NULL : in->ready_head;
    if (p)
        list_remove(&in->ready_head, &in->ready_tail, p);
    pthread_mutex_unlock(&in->mu);
    if (!p)
        return -1;
    out->fd = p->fd;
    out->nul_param = p->nul_param;
    free(p);
    return 0;
}

void intake_stop(struct intake *in)
{
    pthread_mutex_lock(&in->mu);
    bool was = in->stopping;
    in->stopping = true;
    pthread_cond_broadcast(&in->cond);
    pthread_mutex_unlock(&in->mu);
    if (was)
        return;
    if (in->started) {
        uint64_t one = 1;
        if (write(in->wakefd, &one, sizeof one) < 0)
            log_warn("intake: cannot wake its thread: %s", strerror(errno));
        pthread_join(in->thread, NULL);
        in->started = false;
    }
    while (in->watch_head)
        unwatch_close(in, in->watch_head);
    pthread_mutex_lock(&in->mu);
    struct pending *p = in->ready_head;
    in->ready_head = in->ready_tail = NULL;
    pthread_mutex_unlock(&in->mu);
    while (p) {
        struct pending *next = p->next;
        close(p->fd);
        free(p);
        p = next;
    }
    if (in->listen_flags >= 0) {
        epoll_ctl(in->epfd, EPOLL_CTL_DEL, in->listen_fd, NULL);
        fcntl(in->listen_fd, F_SETFL, in->listen_flags);
    }
}

void intake_free(struct intake *in)
{
    if (!in)
        return;
    intake_stop(in);
    if (in->epfd >= 0)
        close(in->epfd);
    if (in->wakefd >= 0)
        close(in->wakefd);
    free(in->peek);
    pthread_mutex_destroy(&in->mu);
    pthread_cond_destroy(&in->cond);
    free(in);
}

size_t intake_watched(struct intake *in)
{
    return atomic_load(&in->watched);
}

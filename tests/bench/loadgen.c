/* loadgen.c -- EventSource load generator for the sse-fcgi benchmark.
 *
 * DESIGN
 * One controller process and P worker processes (fork).  Each worker owns a
 * fixed slice of the clients and runs one epoll loop over them: non-blocking
 * connect to 127.0.0.1:PORT, an HTTP/1.1 GET, then an incremental parser
 * (status line, headers, chunked transfer coding, EventSource lines).  The
 * per-client state and the latency samples live in one MAP_SHARED mapping
 * made before fork(), so the controller reads results without copying; it
 * sends commands ("connect", "abort", "churn", ...) over a socketpair per
 * worker and waits for "ok".  The controller does the short HTTP requests
 * (publish, stats, disconnect, nchan channel info) itself over blocking
 * sockets, reads /proc/PID/{status,fd} of the servers, and prints one table
 * and one "BENCH key=value ..." line per scenario.
 *
 * The "steady" scenario holds N streams for a long time while events are
 * published at a fixed rate; each client marks the sequence numbers it got
 * in a bitmap (one bit per client and event, also MAP_SHARED), so every
 * delivery is counted, and the server's RSS is sampled as a time series.
 *
 * Clients past ~19,000 need more than one process (the per-process open-file
 * limit); --procs 0 (the default) picks ceil(N / 9000).
 *
 * Timestamps: published events carry "t":<CLOCK_REALTIME ns> and "seq":<k> in
 * their data; a worker records (receive time - t) per client and event.
 * Everything else uses CLOCK_MONOTONIC.
 *
 * No dependencies beyond libc and pthreads (the publisher thread of the
 * "routes" scenario). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LINE_CAP 1024           /* one SSE or header line; longer ones are cut */
#define TOKEN_CAP 40
#define MAX_PROCS 16
#define MAX_PIDS 16
#define MAX_EVENTS_PUB 1000

/* Client states. */
enum {
    CS_IDLE,                    /* no socket */
    CS_CONNECTING,              /* connect() in progress */
    CS_HEADERS,                 /* request sent, reading the response head */
    CS_BODY,                    /* 200, reading the stream, not yet ready */
    CS_READY,                   /* ready: `connected` seen (or headers, --ready headers) */
    CS_CLOSED,                  /* the server ended the stream */
    CS_FAILED,                  /* connect error or non-200 status */
    CS_ABORTED,                 /* we closed it */
};

/* Body parser states (chunked transfer coding). */
enum { CH_SIZE, CH_EXT, CH_DATA, CH_DATA_CR, CH_DATA_LF, CH_IDENTITY };

/* Kinds of the SSE event being parsed. */
enum { EV_OTHER, EV_CONNECTED, EV_PING };

struct client {
    int fd;
    uint8_t state;
    uint8_t chunked;
    uint8_t chstate;
    uint8_t ev_kind;
    int status;
    long chunk_left;
    int64_t t_start;            /* connect() called, monotonic ns */
    int64_t t_ready;
    int64_t t_last;             /* last event or comment */
    int64_t max_gap;
    int64_t ev_t;               /* "t" of the event being parsed, or 0 */
    int ev_seq;
    uint32_t pings, events, comments;
    int64_t t_ping;             /* last ping (or ready / resetgap) */
    int64_t max_ping_gap;
    int seq_last;               /* steady: highest seq received, or -1 */
    uint32_t seq_got;           /* steady: distinct seqs received */
    uint32_t seq_dup, seq_reorder;
    float lat_max_ms;           /* steady: delivery latency */
    double lat_sum_ms;
    int64_t t_abort;            /* we closed it (monotonic ns), or 0 */
    uint64_t pub_id;            /* the 16 hex digits of its public_id ("c-..."), or 0 */
    int linelen;
    char token[TOKEN_CAP];
    char line[LINE_CAP];
};

/* Per-worker counters, written by one worker, read by the controller. */
struct wstats {
    atomic_long ready;          /* became ready (cumulative) */
    atomic_long failed;         /* connect error or non-200 */
    atomic_long status503;
    atomic_long status429;
    atomic_long status_other;   /* any other non-200 status */
    atomic_long closed;         /* server ended a ready or pending stream */
    atomic_long cycles;         /* churn: ready then aborted */
    atomic_long live;           /* ready and open now */
    atomic_long bad_seq;
};

struct shared {
    atomic_long churn_target;   /* churn: stop reconnecting at this many cycles */
    atomic_long churn_done;
    struct wstats w[MAX_PROCS];
};

/* ---- options --------------------------------------------------------- */

static struct {
    const char *scenario;
    const char *server;         /* label in the BENCH line */
    int port;
    const char *stream_path;
    const char *pub_path;
    const char *pub_kind;       /* sse | nchan */
    const char *stats_path;
    const char *count_key;
    const char *count_name;     /* what the count is read from, for the BENCH line */
    const char *disc_path;
    const char *auth_b64;       /* Authorization: Basic ... or NULL */
    int ready_on_headers;
    int n;
    int procs;
    int inflight;
    double hold_s;
    int events;
    double interval_ms;
    double heartbeat_s;
    long cycles;
    int rounds;
    int concurrency;
    int abort_n;
    int abort_rst;
    double rate;                /* routes, steady: events per second broadcast */
    int rate_set;
    double sample_s;            /* steady: RSS sample interval */
    int samples;                /* routes: stats calls */
    double pace_ms;             /* routes: one stats call every pace_ms (0: back to back) */
    int disconnects;
    double timeout_s;
    double poll_ms;             /* monitor: the old dashboard's stats poll period */
    const char *stats_shapes;   /* statsq: LABEL=PATH,... */
    const char *redis_cli;      /* rediscost: the command that reaches the cluster's Redis */
    int nodes;                  /* rediscost: nodes (0: one per --ports) */
    const char *extra;          /* appended to the BENCH line */
    int npids;
    char *pid_label[MAX_PIDS];
    int pid[MAX_PIDS];
} opt = {
    .scenario = "capacity", .server = "sse-fcgi", .port = 8080,
    .stream_path = "/api/v1/events/admin",
    .pub_path = "/api/v1/events/publish", .pub_kind = "sse",
    .stats_path = "/api/v1/events/stats", .count_key = "\"total_connections\"", .count_name = "stats",
    .disc_path = "/api/v1/events/disconnect",
    .n = 1000, .inflight = 256, .hold_s = 30, .events = 20, .interval_ms = 250,
    .heartbeat_s = 5, .cycles = 20000, .rounds = 2, .concurrency = 100, .abort_n = 1000,
    .abort_rst = 1, .rate = 10, .sample_s = 30, .samples = 100, .disconnects = 200, .timeout_s = 120,
    .poll_ms = 5000, .redis_cli = "redis-cli",
    .stats_shapes = "summary=/api/v1/events/stats?summary=1,page=/api/v1/events/stats?limit=100,full=/api/v1/events/stats",
    .extra = "",
};

static struct client *clients;
static float *lat;              /* [n][events], ms; < 0: not received */
static uint8_t *seen;           /* steady: [n][seq_bytes] bitmap of seqs received */
static int steady, seq_cap;
static size_t seq_bytes;
static struct shared *sh;
static int ctl_fd[MAX_PROCS];
static int nprocs;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t real_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_ms(double ms)
{
    if (ms <= 0)
        return;
    long long ns = (long long)(ms * 1e6);
    struct timespec ts = { (time_t)(ns / 1000000000), (long)(ns % 1000000000) };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "loadgen: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

/* ---- worker: one epoll loop over a slice of clients -------------------- */

static int w_id, w_lo, w_hi, w_ep;
static struct wstats *W;
static struct sockaddr_in srv;         /* short requests (the first of --ports) */
#define MAX_PORTS 8
static struct sockaddr_in srv_of[MAX_PORTS];    /* streams: client i to srv_of[i % nports] */
static int nports = 1;
static char request[1024];
static size_t request_len;

/* Pending connects, as a queue of client indices. */
static int *pend;
static int pend_head, pend_tail;
static int inflight;
static int churning;

static void client_reset(struct client *c)
{
    c->fd = -1;
    c->chunked = 0;
    c->chstate = CH_SIZE;
    c->chunk_left = 0;
    c->status = 0;
    c->linelen = 0;
    c->ev_kind = EV_OTHER;
    c->ev_t = 0;
    c->ev_seq = -1;
    c->t_ready = 0;
    c->t_ping = c->max_ping_gap = 0;
    c->seq_last = -1;
    c->seq_got = c->seq_dup = c->seq_reorder = 0;
    c->lat_max_ms = 0;
    c->lat_sum_ms = 0;
    c->t_abort = 0;
    c->pub_id = 0;
}

static void client_close(struct client *c, int rst, int newstate)
{
    if (c->fd >= 0) {
        if (rst) {
            struct linger l = { 1, 0 };
            setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        } else {
            shutdown(c->fd, SHUT_WR);
        }
        if (newstate == CS_ABORTED)
            c->t_abort = now_ns();
        close(c->fd);       /* also leaves the epoll set */
    }
    if (c->state == CS_READY)
        atomic_fetch_sub(&W->live, 1);
    if (c->state == CS_CONNECTING || c->state == CS_HEADERS || c->state == CS_BODY)
        inflight--;
    c->fd = -1;
    c->state = (uint8_t)newstate;
}

static void start_connect(int i)
{
    struct client *c = &clients[i];
    client_reset(c);
    c->t_start = now_ns();
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        c->state = CS_FAILED;
        atomic_fetch_add(&W->failed, 1);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->fd = fd;
    c->state = CS_CONNECTING;
    inflight++;
    int rc = connect(fd, (struct sockaddr *)&srv_of[i % nports], sizeof srv);
    if (rc != 0 && errno != EINPROGRESS) {
        client_close(c, 1, CS_FAILED);
        atomic_fetch_add(&W->failed, 1);
        return;
    }
    struct epoll_event ev = { .events = EPOLLOUT, .data.u32 = (uint32_t)i };
    epoll_ctl(w_ep, EPOLL_CTL_ADD, fd, &ev);
}

static void became_ready(int i, struct client *c)
{
    c->state = CS_READY;
    inflight--;
    c->t_ready = c->t_last = c->t_ping = now_ns();
    c->max_gap = c->max_ping_gap = 0;
    atomic_fetch_add(&W->ready, 1);
    atomic_fetch_add(&W->live, 1);
    if (churning) {
        client_close(c, 1, CS_ABORTED);
        atomic_fetch_add(&W->cycles, 1);
        if (atomic_fetch_add(&sh->churn_done, 1) + 1 < atomic_load(&sh->churn_target))
            pend[pend_tail++ % (w_hi - w_lo + 1)] = i;
    }
}

static void activity(struct client *c)
{
    int64_t t = now_ns();
    if (c->state == CS_READY && t - c->t_last > c->max_gap)
        c->max_gap = t - c->t_last;
    c->t_last = t;
}

/* A ping: the largest gap between pings, apart from other traffic. */
static void ping_seen(struct client *c)
{
    if (c->state == CS_READY && c->t_ping && c->t_last - c->t_ping > c->max_ping_gap)
        c->max_ping_gap = c->t_last - c->t_ping;
    c->t_ping = c->t_last;
}

/* steady: a published event with seq s, marked in the client's bitmap. */
static void steady_event(int i, struct client *c)
{
    int s = c->ev_seq;
    if (s < 0 || s >= seq_cap) {
        atomic_fetch_add(&W->bad_seq, 1);
        return;
    }
    uint8_t *b = &seen[(size_t)i * seq_bytes + (size_t)s / 8];
    if (*b & (1u << (s % 8))) {
        c->seq_dup++;
        return;
    }
    *b |= (uint8_t)(1u << (s % 8));
    if (s < c->seq_last)
        c->seq_reorder++;
    else
        c->seq_last = s;
    c->seq_got++;
    float ms = (float)((double)(real_ns() - c->ev_t) / 1e6);
    c->lat_sum_ms += ms;
    if (ms > c->lat_max_ms)
        c->lat_max_ms = ms;
}

static long parse_num_after(const char *s, const char *key)
{
    const char *p = strstr(s, key);
    if (!p)
        return -1;
    p += strlen(key);
    while (*p && !isdigit((unsigned char)*p) && *p != '-')
        p++;
    return strtol(p, NULL, 10);
}

static int64_t parse_i64_after(const char *s, const char *key)
{
    const char *p = strstr(s, key);
    if (!p)
        return -1;
    p += strlen(key);
    while (*p && !isdigit((unsigned char)*p))
        p++;
    return strtoll(p, NULL, 10);
}

/* One complete SSE line (without the newline).  Returns -1 to close. */
static int sse_line(int i, struct client *c, char *l, int len)
{
    l[len] = '\0';
    if (len > 0 && l[len - 1] == '\r')
        l[--len] = '\0';
    if (len == 0) {                                 /* dispatch */
        if (c->ev_kind == EV_CONNECTED) {
            activity(c);
            if (c->state == CS_BODY)
                became_ready(i, c);
        } else if (c->ev_kind == EV_PING) {
            c->pings++;
            activity(c);
            ping_seen(c);
        } else if (c->ev_t > 0) {
            c->events++;
            activity(c);
            if (steady) {
                steady_event(i, c);
            } else if (c->ev_seq >= 0 && c->ev_seq < opt.events && lat) {
                float *slot = &lat[(size_t)i * opt.events + c->ev_seq];
                if (*slot < 0)
                    *slot = (float)((double)(real_ns() - c->ev_t) / 1e6);
            } else {
                atomic_fetch_add(&W->bad_seq, 1);
            }
        } else {
            activity(c);
        }
        c->ev_kind = EV_OTHER;
        c->ev_t = 0;
        c->ev_seq = -1;
        return 0;
    }
    if (l[0] == ':') {                              /* comment: nchan's hello */
        c->comments++;
        activity(c);
        return 0;
    }
    if (!strncmp(l, "event:", 6)) {
        const char *v = l + 6 + (l[6] == ' ');
        c->ev_kind = !strcmp(v, "connected") ? EV_CONNECTED
                   : !strcmp(v, "ping") ? EV_PING : EV_OTHER;
    } else if (!strncmp(l, "data:", 5)) {
        const char *v = l + 5;
        if (c->ev_kind == EV_CONNECTED) {
            const char *p = strstr(v, "\"connection_id\":\"");
            if (p) {
                p += 17;
                size_t k = 0;
                while (p[k] && p[k] != '"' && k < TOKEN_CAP - 1) {
                    c->token[k] = p[k];
                    k++;
                }
                c->token[k] = '\0';
            }
            if ((p = strstr(v, "\"public_id\":\"c-")))
                c->pub_id = strtoull(p + 15, NULL, 16);
        } else {
            int64_t t = parse_i64_after(v, "\"t\":");
            if (t > 0) {
                c->ev_t = t;
                c->ev_seq = (int)parse_num_after(v, "\"seq\":");
            }
        }
    }
    return 0;
}

/* A header line.  Returns -1 to close. */
static int header_line(int i, struct client *c, char *l, int len)
{
    l[len] = '\0';
    if (len > 0 && l[len - 1] == '\r')
        l[--len] = '\0';
    if (c->status == 0) {
        if (strncmp(l, "HTTP/1.", 7) != 0)
            return -1;
        c->status = atoi(l + 9);
        return 0;
    }
    if (len == 0) {
        if (c->status != 200) {
            atomic_fetch_add(c->status == 503 ? &W->status503
                             : c->status == 429 ? &W->status429 : &W->status_other, 1);
            return -1;
        }
        c->state = CS_BODY;
        c->chstate = c->chunked ? CH_SIZE : CH_IDENTITY;
        if (opt.ready_on_headers)
            became_ready(i, c);
        return 0;
    }
    if (!strncasecmp(l, "transfer-encoding:", 18) && strcasestr(l + 18, "chunked"))
        c->chunked = 1;
    return 0;
}

static int feed_line_byte(int i, struct client *c, char ch, int hdr)
{
    if (ch == '\n') {
        int len = c->linelen;
        c->linelen = 0;
        return hdr ? header_line(i, c, c->line, len) : sse_line(i, c, c->line, len);
    }
    if (c->linelen < LINE_CAP - 1)
        c->line[c->linelen++] = ch;
    return 0;
}

/* Body bytes: undo the chunked coding, feed SSE lines. */
static int feed_body(int i, struct client *c, const char *p, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        char ch = p[k];
        switch (c->chstate) {
        case CH_IDENTITY:
            if (feed_line_byte(i, c, ch, 0) < 0)
                return -1;
            if (c->state != CS_BODY && c->state != CS_READY)
                return 0;           /* churn aborted it */
            break;
        case CH_SIZE:
            if (isxdigit((unsigned char)ch)) {
                c->chunk_left = c->chunk_left * 16 +
                    (isdigit((unsigned char)ch) ? ch - '0' : (tolower(ch) - 'a' + 10));
            } else if (ch == '\n') {
                if (c->chunk_left == 0)
                    return -1;      /* last chunk: the stream ended */
                c->chstate = CH_DATA;
            } else {
                c->chstate = CH_EXT;
            }
            break;
        case CH_EXT:
            if (ch == '\n') {
                if (c->chunk_left == 0)
                    return -1;
                c->chstate = CH_DATA;
            }
            break;
        case CH_DATA: {
            size_t take = n - k;
            if ((long)take > c->chunk_left)
                take = (size_t)c->chunk_left;
            for (size_t j = 0; j < take; j++) {
                if (feed_line_byte(i, c, p[k + j], 0) < 0)
                    return -1;
                if (c->state != CS_BODY && c->state != CS_READY)
                    return 0;
            }
            c->chunk_left -= (long)take;
            k += take - 1;
            if (c->chunk_left == 0)
                c->chstate = CH_DATA_CR;
            break;
        }
        case CH_DATA_CR:
            c->chstate = ch == '\r' ? CH_DATA_LF : CH_SIZE;
            if (ch == '\n')
                c->chstate = CH_SIZE;
            break;
        case CH_DATA_LF:
            c->chstate = CH_SIZE;
            break;
        }
    }
    return 0;
}

static void on_event(int i, uint32_t evs)
{
    static char buf[65536];
    struct client *c = &clients[i];
    if (c->fd < 0)
        return;
    if (c->state == CS_CONNECTING) {
        int err = 0;
        socklen_t sl = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &sl);
        if (err || (evs & (EPOLLERR | EPOLLHUP))) {
            client_close(c, 1, CS_FAILED);
            atomic_fetch_add(&W->failed, 1);
            return;
        }
        if (send(c->fd, request, request_len, MSG_NOSIGNAL) != (ssize_t)request_len) {
            client_close(c, 1, CS_FAILED);
            atomic_fetch_add(&W->failed, 1);
            return;
        }
        c->state = CS_HEADERS;
        struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.u32 = (uint32_t)i };
        epoll_ctl(w_ep, EPOLL_CTL_MOD, c->fd, &ev);
        return;
    }
    ssize_t r = read(c->fd, buf, sizeof buf);
    if (r <= 0) {
        if (r < 0 && errno == EAGAIN)
            return;
        int was = c->state;
        client_close(c, 0, was == CS_HEADERS ? CS_FAILED : CS_CLOSED);
        atomic_fetch_add(was == CS_HEADERS ? &W->failed : &W->closed, 1);
        return;
    }
    size_t k = 0;
    if (c->state == CS_HEADERS) {
        for (; k < (size_t)r && c->state == CS_HEADERS; k++) {
            if (feed_line_byte(i, c, buf[k], 1) < 0) {
                client_close(c, 1, CS_FAILED);
                atomic_fetch_add(&W->failed, 1);
                return;
            }
        }
        if (c->state != CS_BODY && c->state != CS_READY)
            return;
    }
    if (k < (size_t)r && feed_body(i, c, buf + k, (size_t)r - k) < 0) {
        int was = c->state;
        client_close(c, 0, CS_CLOSED);
        atomic_fetch_add(was == CS_BODY ? &W->failed : &W->closed, 1);
    }
}

static void pump_connects(void)
{
    int cap = w_hi - w_lo + 1;
    while (pend_head != pend_tail && inflight < opt.inflight) {
        if (churning && atomic_load(&sh->churn_done) + inflight >= atomic_load(&sh->churn_target))
            break;
        start_connect(pend[pend_head++ % cap]);
    }
}

static void w_reply(const char *s)
{
    if (write(ctl_fd[w_id], s, strlen(s)) < 0)
        _exit(1);
}

/* Commands: "connect LO HI", "abort LO HI rst|fin", "churn LO HI",
 * "resetgap", "closeall", "quit".  Index ranges are global; each worker
 * takes the part inside its own slice. */
static int w_command(char *line)
{
    char cmd[32], mode[8] = "";
    int lo = 0, hi = 0;
    int n = sscanf(line, "%31s %d %d %7s", cmd, &lo, &hi, mode);
    if (n < 1)
        return 0;
    if (lo < w_lo)
        lo = w_lo;
    if (hi > w_hi)
        hi = w_hi;
    int cap = w_hi - w_lo + 1;
    if (!strcmp(cmd, "connect") || !strcmp(cmd, "churn")) {
        churning = !strcmp(cmd, "churn");
        for (int i = lo; i < hi; i++)
            if (clients[i].fd < 0)
                pend[pend_tail++ % cap] = i;
        pump_connects();
    } else if (!strcmp(cmd, "abort")) {
        int rst = strcmp(mode, "fin") != 0;
        for (int i = lo; i < hi; i++)
            if (clients[i].fd >= 0)
                client_close(&clients[i], rst, CS_ABORTED);
    } else if (!strcmp(cmd, "resetgap")) {
        int64_t t = now_ns();
        for (int i = w_lo; i < w_hi; i++) {
            clients[i].t_last = clients[i].t_ping = t;
            clients[i].max_gap = clients[i].max_ping_gap = 0;
        }
    } else if (!strcmp(cmd, "closeall")) {
        churning = 0;
        pend_head = pend_tail = 0;
        for (int i = w_lo; i < w_hi; i++)
            if (clients[i].fd >= 0)
                client_close(&clients[i], 1, CS_ABORTED);
    } else if (!strcmp(cmd, "quit")) {
        return -1;
    }
    w_reply("ok\n");
    return 0;
}

static void worker_main(void)
{
    W = &sh->w[w_id];
    pend = calloc((size_t)(w_hi - w_lo + 1), sizeof *pend);
    w_ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = { .events = EPOLLIN, .data.u32 = UINT32_MAX };
    epoll_ctl(w_ep, EPOLL_CTL_ADD, ctl_fd[w_id], &ev);
    struct epoll_event evs[1024];
    char cbuf[4096];
    size_t clen = 0;
    for (;;) {
        int n = epoll_wait(w_ep, evs, 1024, 20);
        for (int k = 0; k < n; k++) {
            uint32_t i = evs[k].data.u32;
            if (i != UINT32_MAX) {
                on_event((int)i, evs[k].events);
                continue;
            }
            ssize_t r = read(ctl_fd[w_id], cbuf + clen, sizeof cbuf - clen - 1);
            if (r <= 0)
                _exit(0);
            clen += (size_t)r;
            char *nl;
            while ((nl = memchr(cbuf, '\n', clen))) {
                *nl = '\0';
                if (w_command(cbuf) < 0)
                    _exit(0);
                size_t used = (size_t)(nl - cbuf) + 1;
                memmove(cbuf, nl + 1, clen - used);
                clen -= used;
            }
        }
        pump_connects();
    }
}

/* ---- controller ------------------------------------------------------- */

static void ctl_send(const char *fmt, ...)
{
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    strcat(line, "\n");
    for (int p = 0; p < nprocs; p++)
        if (write(ctl_fd[p], line, strlen(line)) < 0)
            die("worker %d gone", p);
    for (int p = 0; p < nprocs; p++) {
        char b[8];
        size_t got = 0;
        while (got < 3) {
            ssize_t r = read(ctl_fd[p], b + got, 3 - got);
            if (r <= 0)
                die("worker %d gone", p);
            got += (size_t)r;
        }
    }
}

static long sum_stat(size_t off)
{
    long s = 0;
    for (int p = 0; p < nprocs; p++)
        s += atomic_load((atomic_long *)((char *)&sh->w[p] + off));
    return s;
}
#define SUM(field) sum_stat(offsetof(struct wstats, field))

/* When the last http() call's answer began to arrive (CLOCK_MONOTONIC ns;
 * 0 if nothing came): with the start time, splits a slow call into the
 * wait for the answer and the transfer of its body.  Per thread: the
 * publisher thread's calls run while the stats calls are timed. */
static __thread int64_t http_first_byte_ns;
/* How long http() waits for more of an answer (s), and, when not 0, the
 * CLOCK_MONOTONIC ns at which it stops reading whatever comes: a stream
 * answered 200 instead of refused keeps sending pings. */
static int http_timeout_s = 30;
static int64_t http_deadline_ns;

/* Blocking HTTP request to 127.0.0.1:port with Connection: close.  Returns
 * the status (or -1) and the body (dechunked) in *body (caller frees). */
static int http(const char *method, const char *path, const char *ctype,
                const char *body, char **out, size_t *outlen)
{
    http_first_byte_ns = 0;
    *out = NULL;
    *outlen = 0;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct timeval tv = { http_timeout_s, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&srv, sizeof srv) != 0) {
        close(fd);
        return -1;
    }
    char head[1024];
    size_t blen = body ? strlen(body) : 0;
    int hl = snprintf(head, sizeof head,
                      "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                      "Accept: application/json, text/json\r\n%s%s%s"
                      "%s%s%s"
                      "Content-Length: %zu\r\n\r\n",
                      method, path,
                      opt.auth_b64 ? "Authorization: Basic " : "",
                      opt.auth_b64 ? opt.auth_b64 : "", opt.auth_b64 ? "\r\n" : "",
                      ctype ? "Content-Type: " : "", ctype ? ctype : "", ctype ? "\r\n" : "",
                      blen);
    struct iovec iov[2] = { { head, (size_t)hl }, { (void *)body, blen } };
    struct msghdr mh = { .msg_iov = iov, .msg_iovlen = body ? 2 : 1 };
    if (sendmsg(fd, &mh, MSG_NOSIGNAL) != (ssize_t)(hl + (int)blen)) {
        close(fd);
        return -1;
    }
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap + 1);
    for (;;) {
        if (len == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
        }
        ssize_t r = read(fd, buf + len, cap - len);
        if (r <= 0)
            break;
        if (len == 0)
            http_first_byte_ns = now_ns();
        len += (size_t)r;
        if (http_deadline_ns && now_ns() > http_deadline_ns)
            break;
    }
    close(fd);
    buf[len] = '\0';
    int status = -1;
    if (len > 12 && !strncmp(buf, "HTTP/1.", 7))
        status = atoi(buf + 9);
    char *b = strstr(buf, "\r\n\r\n");
    if (!b) {
        free(buf);
        return -1;
    }
    *b = '\0';
    int chunked = strcasestr(buf, "transfer-encoding: chunked") != NULL;
    b += 4;
    size_t bl = len - (size_t)(b - buf);
    char *res = malloc(bl + 1);
    size_t rl = 0;
    if (chunked) {
        char *p = b, *end = b + bl;
        while (p < end) {
            long sz = strtol(p, NULL, 16);
            char *nl = memchr(p, '\n', (size_t)(end - p));
            if (!nl || sz <= 0)
                break;
            p = nl + 1;
            if (p + sz > end)
                sz = end - p;
            memcpy(res + rl, p, (size_t)sz);
            rl += (size_t)sz;
            p += sz + 2;
        }
    } else {
        memcpy(res, b, bl);
        rl = bl;
    }
    res[rl] = '\0';
    free(buf);
    *out = res;
    *outlen = rl;
    return status;
}

/* The server's count of live streams, or -1. */
static long server_count(double *ms)
{
    char *body;
    size_t bl;
    int64_t t0 = now_ns();
    int st = http("GET", opt.stats_path, NULL, NULL, &body, &bl);
    if (ms)
        *ms = (double)(now_ns() - t0) / 1e6;
    long n = -1;
    if (st == 200 && body)
        n = parse_num_after(body, opt.count_key);
    else if (st == 404 && !strcmp(opt.pub_kind, "nchan"))
        n = 0;                  /* nchan: a channel with no subscribers is gone */
    free(body);
    return n;
}

static int publish(int seq, double *ms)
{
    char data[256], body[512];
    snprintf(data, sizeof data, "{\"t\":%lld,\"seq\":%d}", (long long)real_ns(), seq);
    const char *b = data, *ct = "text/plain";
    if (!strcmp(opt.pub_kind, "sse")) {
        snprintf(body, sizeof body, "{\"event\":\"bench\",\"target\":\"all\",\"data\":%s}", data);
        b = body;
        ct = "application/json";
    }
    int64_t t0 = now_ns();
    char *out;
    size_t ol;
    int st = http("POST", opt.pub_path, ct, b, &out, &ol);
    if (ms)
        *ms = (double)(now_ns() - t0) / 1e6;
    free(out);
    return st;
}

/* /proc readings. */
struct procsample {
    long rss_kib, threads, fds;
};

static struct procsample proc_read(int pid)
{
    struct procsample s = { -1, -1, -1 };
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (f) {
        while (fgets(line, sizeof line, f)) {
            if (!strncmp(line, "VmRSS:", 6))
                s.rss_kib = atol(line + 6);
            else if (!strncmp(line, "Threads:", 8))
                s.threads = atol(line + 8);
        }
        fclose(f);
    }
    snprintf(path, sizeof path, "/proc/%d/fd", pid);
    DIR *d = opendir(path);
    if (d) {
        long n = 0;
        struct dirent *e;
        while ((e = readdir(d)))
            if (e->d_name[0] != '.')
                n++;
        closedir(d);
        s.fds = n;
    }
    return s;
}

/* Sums the samples of the pids whose label starts with prefix. */
static struct procsample proc_sum(const char *prefix)
{
    struct procsample t = { 0, 0, 0 };
    for (int k = 0; k < opt.npids; k++) {
        if (strncmp(opt.pid_label[k], prefix, strlen(prefix)) != 0)
            continue;
        struct procsample s = proc_read(opt.pid[k]);
        if (s.rss_kib >= 0) {
            t.rss_kib += s.rss_kib;
            t.threads += s.threads;
            t.fds += s.fds;
        }
    }
    return t;
}

/* CPU time (ns, all threads: /proc/PID/task/TID/schedstat) and involuntary
 * context switches (preempted while runnable) of the pids whose label
 * starts with prefix; ns < 0 if there is none. */
struct cpusample {
    int64_t ns;
    long invol;
};

static struct cpusample cpu_sum(const char *prefix)
{
    struct cpusample t = { -1, 0 };
    for (int k = 0; k < opt.npids; k++) {
        if (strncmp(opt.pid_label[k], prefix, strlen(prefix)) != 0)
            continue;
        char path[320], line[256];
        snprintf(path, sizeof path, "/proc/%d/task", opt.pid[k]);
        DIR *d = opendir(path);
        if (!d)
            continue;
        if (t.ns < 0)
            t.ns = 0;
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            long long ns;
            snprintf(path, sizeof path, "/proc/%d/task/%s/schedstat", opt.pid[k], e->d_name);
            FILE *f = fopen(path, "r");
            if (f) {
                if (fscanf(f, "%lld", &ns) == 1)
                    t.ns += ns;
                fclose(f);
            }
            snprintf(path, sizeof path, "/proc/%d/task/%s/status", opt.pid[k], e->d_name);
            if ((f = fopen(path, "r"))) {
                while (fgets(line, sizeof line, f))
                    if (!strncmp(line, "nonvoluntary_ctxt_switches:", 27))
                        t.invol += atol(line + 27);
                fclose(f);
            }
        }
        closedir(d);
    }
    return t;
}

/* Messages (events, pings, comments) the clients have read so far. */
static long messages_read(void)
{
    long m = 0;
    for (int i = 0; i < opt.n; i++)
        m += (long)clients[i].events + clients[i].pings + clients[i].comments;
    return m;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p)
{
    if (n == 0)
        return -1;
    size_t k = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
    return v[k < n ? k : n - 1];
}

/* Starts connecting clients [lo,hi) and waits until each is ready or has
 * failed, or the timeout.  Returns seconds until the last one was ready. */
static double connect_all(int lo, int hi, long *ready_out)
{
    long r0 = SUM(ready), f0 = SUM(failed);
    int64_t t0 = now_ns();
    ctl_send("connect %d %d", lo, hi);
    long want = hi - lo, last = -1;
    int64_t last_change = now_ns();
    for (;;) {
        long r = SUM(ready) - r0, f = SUM(failed) - f0;
        if (r + f >= want)
            break;
        if (r + f != last) {
            last = r + f;
            last_change = now_ns();
        }
        if ((now_ns() - t0) / 1e9 > opt.timeout_s || (now_ns() - last_change) / 1e9 > 20) {
            fprintf(stderr, "loadgen: connect timeout: %ld ready, %ld failed of %ld\n", r, f, want);
            break;
        }
        sleep_ms(5);
    }
    int64_t tlast = 0;
    for (int i = lo; i < hi; i++)
        if (clients[i].t_ready > tlast)
            tlast = clients[i].t_ready;
    *ready_out = SUM(ready) - r0;
    return tlast ? (double)(tlast - t0) / 1e9 : -1;
}

/* Concurrent pollers of the count, so that one slow stats call does not
 * set the resolution: each thread polls back to back; the first response
 * that shows the target ends the wait. */
struct poller {
    long target;
    int64_t t0, deadline;
    atomic_int done;
    atomic_long polls;
    pthread_mutex_t mu;
    int64_t sent, recv;         /* of the first response at or below target */
    long seen;
};

static void *poll_main(void *arg)
{
    struct poller *p = arg;
    while (!atomic_load(&p->done)) {
        int64_t sent = now_ns();
        long n = server_count(NULL);
        int64_t recv = now_ns();
        atomic_fetch_add(&p->polls, 1);
        pthread_mutex_lock(&p->mu);
        if (n >= 0 && n <= p->target && (p->recv == 0 || recv < p->recv)) {
            p->sent = sent;
            p->recv = recv;
            p->seen = n;
            atomic_store(&p->done, 1);
        } else if (p->recv == 0) {
            p->seen = n;
        }
        pthread_mutex_unlock(&p->mu);
        if (recv > p->deadline)
            atomic_store(&p->done, 1);
    }
    return NULL;
}

/* Waits until the server's count is at most target, with `threads` pollers.
 * Returns ms from t0 until the response that first showed it (and in
 * *sent_ms when that request was sent), or -1 after timeout_s. */
static double wait_count_n(long target, int64_t t0, double timeout_s, int threads,
                           long *seen, int *polls, double *sent_ms)
{
    struct poller p = { .target = target, .t0 = t0,
                        .deadline = t0 + (int64_t)(timeout_s * 1e9) };
    pthread_mutex_init(&p.mu, NULL);
    pthread_t th[8];
    if (threads > 8)
        threads = 8;
    for (int k = 0; k < threads; k++) {
        pthread_create(&th[k], NULL, poll_main, &p);
        sleep_ms(1);
    }
    for (int k = 0; k < threads; k++)
        pthread_join(th[k], NULL);
    *seen = p.seen;
    *polls = (int)atomic_load(&p.polls);
    if (sent_ms)
        *sent_ms = p.recv ? (double)(p.sent - t0) / 1e6 : -1;
    return p.recv ? (double)(p.recv - t0) / 1e6 : -1;
}

static double wait_count(long target, int64_t t0, double timeout_s, long *seen, int *polls)
{
    return wait_count_n(target, t0, timeout_s, 1, seen, polls, NULL);
}

static void print_proc(const char *when, struct procsample r, struct procsample g)
{
    printf("  %-18s responder rss %7ld KiB threads %6ld fds %6ld | nginx rss %7ld KiB fds %6ld\n",
           when, r.rss_kib, r.threads, r.fds, g.rss_kib, g.fds);
}

/* Per ready client, the largest gap between events (or pings) so far, up
 * to now: gaps[] sorted (ng of them), how many exceed a heartbeat + 1 s,
 * how many never got a ping; pings counted over all clients. */
struct gap_tally {
    size_t ng;
    long late, noping, pings;
    int64_t ping_gap_max;       /* ns, the largest gap between two pings */
};

static struct gap_tally gap_tally(int n, double *gaps)
{
    struct gap_tally gt = { 0 };
    int64_t t = now_ns();
    for (int i = 0; i < n; i++) {
        struct client *c = &clients[i];
        gt.pings += c->pings;
        if (c->state != CS_READY)
            continue;
        int64_t g = c->max_gap, pg = c->max_ping_gap;
        if (t - c->t_last > g)
            g = t - c->t_last;
        if (t - c->t_ping > pg)
            pg = t - c->t_ping;
        if (pg > gt.ping_gap_max)
            gt.ping_gap_max = pg;
        gaps[gt.ng++] = (double)g / 1e9;
        if ((double)g / 1e9 > opt.heartbeat_s + 1.0)
            gt.late++;
        if (c->pings == 0)
            gt.noping++;
    }
    qsort(gaps, gt.ng, sizeof *gaps, cmp_double);
    return gt;
}

static void scen_capacity(void)
{
    int n = opt.n;
    struct procsample r0 = proc_sum("responder"), g0 = proc_sum("nginx");
    long ready;
    double all_s = connect_all(0, n, &ready);
    double *ct = malloc(sizeof(double) * (size_t)n);
    size_t k = 0;
    for (int i = 0; i < n; i++)
        if (clients[i].t_ready)
            ct[k++] = (double)(clients[i].t_ready - clients[i].t_start) / 1e6;
    qsort(ct, k, sizeof *ct, cmp_double);
    sleep_ms(500);
    struct procsample r1 = proc_sum("responder"), g1 = proc_sum("nginx");
    ctl_send("resetgap");
    long closed0 = SUM(closed);
    struct procsample rmax = r1, gmax = g1;
    int64_t end = now_ns() + (int64_t)(opt.hold_s * 1e9);
    while (now_ns() < end) {
        sleep_ms(1000);
        struct procsample r = proc_sum("responder"), g = proc_sum("nginx");
        if (r.rss_kib > rmax.rss_kib)
            rmax = r;
        if (g.rss_kib > gmax.rss_kib)
            gmax = g;
    }
    double *gaps = malloc(sizeof(double) * (size_t)n);
    struct gap_tally gt = gap_tally(n, gaps);
    size_t ng = gt.ng;
    long late = gt.late, noping = gt.noping;
    long live = SUM(live);
    long cnt = server_count(NULL);
    struct procsample r2 = proc_sum("responder"), g2 = proc_sum("nginx");
    double per_r = ready ? (double)(r1.rss_kib - r0.rss_kib) / (double)ready : 0;
    double per_g = ready ? (double)(g1.rss_kib - g0.rss_kib) / (double)ready : 0;
    double per_rend = ready ? (double)(r2.rss_kib - r0.rss_kib) / (double)ready : 0;
    printf("== capacity: %s, %d streams, hold %.0f s, heartbeat %.1f s\n",
           opt.server, n, opt.hold_s, opt.heartbeat_s);
    printf("  ready %ld, failed %ld (503: %ld, 429: %ld, other status: %ld), closed by server during hold %ld, live at end %ld, server count %ld\n",
           ready, SUM(failed), SUM(status503), SUM(status429), SUM(status_other),
           SUM(closed) - closed0, live, cnt);
    printf("  connect ms p50 %.1f p99 %.1f max %.1f; all ready after %.2f s\n",
           pct(ct, k, 50), pct(ct, k, 99), pct(ct, k, 100), all_s);
    printf("  largest gap between events s: p50 %.2f p99 %.2f max %.2f; late (> hb+1 s) %ld; no ping %ld\n",
           pct(gaps, ng, 50), pct(gaps, ng, 99), pct(gaps, ng, 100), late, noping);
    print_proc("baseline", r0, g0);
    print_proc("all connected", r1, g1);
    print_proc("end of hold", r2, g2);
    print_proc("peak rss", rmax, gmax);
    printf("  per stream: responder %.2f KiB (end of hold %.2f), nginx %.2f KiB, responder threads %.3f, fds %.3f\n",
           per_r, per_rend, per_g, ready ? (double)(r1.threads - r0.threads) / (double)ready : 0,
           ready ? (double)(r1.fds - r0.fds) / (double)ready : 0);
    printf("BENCH scenario=capacity server=%s n=%d ready=%ld failed=%ld live_end=%ld "
           "connect_p50_ms=%.1f connect_p99_ms=%.1f all_ready_s=%.2f gap_p99_s=%.2f gap_max_s=%.2f late=%ld "
           "resp_rss_kib=%ld resp_kib_per_stream=%.2f resp_kib_per_stream_end=%.2f resp_threads=%ld resp_fds=%ld "
           "nginx_rss_kib=%ld nginx_kib_per_stream=%.2f total_kib_per_stream=%.2f%s\n",
           opt.server, n, ready, SUM(failed), live, pct(ct, k, 50), pct(ct, k, 99), all_s,
           pct(gaps, ng, 99), pct(gaps, ng, 100), late, r1.rss_kib, per_r, per_rend, r1.threads,
           r1.fds, g1.rss_kib, per_g, per_r + per_g, opt.extra);
    free(ct);
    free(gaps);
    ctl_send("closeall");
}

/* Fill the server to its stream limit (N streams, all ready), then ask for
 * one more on a plain socket: it must be refused at once with a 503 and a
 * JSON {"error": ...} body.  pass=1 only if both held. */
static void scen_limit(void)
{
    int n = opt.n;
    struct procsample r0 = proc_sum("responder"), g0 = proc_sum("nginx");
    long ready;
    double all_s = connect_all(0, n, &ready);
    sleep_ms(500);
    struct procsample r1 = proc_sum("responder"), g1 = proc_sum("nginx");
    long live = SUM(live);
    long cnt = server_count(NULL);
    char *body = NULL;
    size_t blen = 0;
    http_timeout_s = 5;
    int64_t t = now_ns();
    http_deadline_ns = t + 5 * (int64_t)1000000000;
    int st = http("GET", opt.stream_path, NULL, NULL, &body, &blen);
    double ms = (double)(now_ns() - t) / 1e6;
    http_timeout_s = 30;
    http_deadline_ns = 0;
    int json = body && strstr(body, "\"error\"") != NULL;
    int pass = ready == n && st == 503 && json;
    printf("== limit: %s, %d streams, then one more\n", opt.server, n);
    printf("  ready %ld of %d, failed %ld (503: %ld, 429: %ld, other status: %ld), live %ld, server count %ld; all ready after %.2f s\n",
           ready, n, SUM(failed), SUM(status503), SUM(status429), SUM(status_other), live, cnt, all_s);
    printf("  stream %d: status %d in %.1f ms, body %.200s\n", n + 1, st, ms,
           body && *body ? body : "(none)");
    print_proc("baseline", r0, g0);
    print_proc("all connected", r1, g1);
    printf("  %s\n", pass ? "PASS" : "FAIL: not all ready, or the next stream not a JSON 503");
    printf("BENCH scenario=limit server=%s n=%d ready=%ld failed=%ld next_status=%d next_json=%d next_ms=%.1f "
           "pass=%d all_ready_s=%.2f resp_rss_kib=%ld nginx_rss_kib=%ld nginx_fds=%ld%s\n",
           opt.server, n, ready, SUM(failed), st, json, ms, pass, all_s, r1.rss_kib, g1.rss_kib,
           g1.fds, opt.extra);
    free(body);
    ctl_send("closeall");
}

static void scen_fanout(void)
{
    int n = opt.n, E = opt.events;
    long ready;
    double all_s = connect_all(0, n, &ready);
    sleep_ms(1000);
    double *pubms = calloc((size_t)E, sizeof(double));
    int pubfail = 0;
    /* What the servers spend on it: CPU while the events go out, divided
     * by the messages the clients read meanwhile (nchan's pings too). */
    struct cpusample resp0 = cpu_sum("responder"), web0 = cpu_sum("nginx");
    long msg0 = messages_read();
    for (int e = 0; e < E; e++) {
        if (publish(e, &pubms[e]) != 200 && !(strcmp(opt.pub_kind, "nchan") == 0))
            pubfail++;
        sleep_ms(opt.interval_ms);
    }
    /* Wait for stragglers: until every ready client has every event, 10 s at most. */
    int64_t end = now_ns() + 10 * (int64_t)1e9;
    size_t want = 0, got = 0;
    double *all = malloc(sizeof(double) * (size_t)n * (size_t)E);
    do {
        want = got = 0;
        for (int i = 0; i < n; i++) {
            if (clients[i].state != CS_READY)
                continue;
            for (int e = 0; e < E; e++) {
                want++;
                if (lat[(size_t)i * E + e] >= 0)
                    got++;
            }
        }
        if (got >= want)
            break;
        sleep_ms(50);
    } while (now_ns() < end);
    struct cpusample resp1 = cpu_sum("responder"), web1 = cpu_sum("nginx");
    long msgs = messages_read() - msg0;
    double resp_us = resp0.ns >= 0 && msgs > 0 ? (double)(resp1.ns - resp0.ns) / 1e3 / (double)msgs : -1;
    double web_us = web0.ns >= 0 && msgs > 0 ? (double)(web1.ns - web0.ns) / 1e3 / (double)msgs : -1;
    double web_preempt = web0.ns >= 0 && msgs > 0 ? (double)(web1.invol - web0.invol) / (double)msgs : -1;
    size_t k = 0;
    double *last = calloc((size_t)E, sizeof(double));
    double *first = malloc(sizeof(double) * (size_t)E);
    for (int e = 0; e < E; e++)
        first[e] = 1e30;
    for (int i = 0; i < n; i++)
        for (int e = 0; e < E; e++) {
            float v = lat[(size_t)i * E + e];
            if (v >= 0) {
                all[k++] = v;
                if (v > last[e])
                    last[e] = v;
                if (v < first[e])
                    first[e] = v;
            }
        }
    qsort(all, k, sizeof *all, cmp_double);
    qsort(last, (size_t)E, sizeof *last, cmp_double);
    size_t nfirst = 0;              /* events someone got */
    for (int e = 0; e < E; e++)
        if (first[e] < 1e30)
            first[nfirst++] = first[e];
    qsort(first, nfirst, sizeof *first, cmp_double);
    qsort(pubms, (size_t)E, sizeof *pubms, cmp_double);
    printf("== fanout: %s, %d streams (%ld ready in %.2f s), %d events %.0f ms apart\n",
           opt.server, n, ready, all_s, E, opt.interval_ms);
    printf("  deliveries %zu of %zu expected (missing %zu); publish request ms p50 %.1f max %.1f; failed publishes %d\n",
           k, want, want - got, pct(pubms, (size_t)E, 50), pct(pubms, (size_t)E, 100), pubfail);
    printf("  delivery latency ms (all deliveries): p50 %.2f p90 %.2f p99 %.2f max %.2f\n",
           pct(all, k, 50), pct(all, k, 90), pct(all, k, 99), pct(all, k, 100));
    printf("  latency to the first client per event ms: p50 %.3f; to the last: p50 %.2f max %.2f\n",
           pct(first, nfirst, 50), pct(last, (size_t)E, 50), pct(last, (size_t)E, 100));
    if (web_us >= 0) {
        printf("  CPU per message read (%ld):", msgs);
        if (resp_us >= 0)
            printf(" responder %.2f us,", resp_us);
        printf(" nginx %.2f us; nginx preempted %.3f times per message\n", web_us, web_preempt);
    }
    printf("BENCH scenario=fanout server=%s n=%d ready=%ld events=%d missing=%zu p50_ms=%.2f p99_ms=%.2f "
           "max_ms=%.2f first_p50_ms=%.3f last_p50_ms=%.2f last_max_ms=%.2f publish_p50_ms=%.2f "
           "resp_cpu_us=%.2f web_cpu_us=%.2f web_preempt=%.3f%s\n",
           opt.server, n, ready, E, want - got, pct(all, k, 50), pct(all, k, 99), pct(all, k, 100),
           pct(first, nfirst, 50), pct(last, (size_t)E, 50), pct(last, (size_t)E, 100),
           pct(pubms, (size_t)E, 50), resp_us, web_us, web_preempt, opt.extra);
    free(all);
    free(last);
    free(first);
    free(pubms);
    ctl_send("closeall");
}

static void scen_detect(void)
{
    int n = opt.n, a = opt.abort_n;
    long ready, seen = -1;
    int polls;
    double all_s = connect_all(0, n, &ready);
    /* Wait until the server counts all of them (nchan updates lazily). */
    int64_t t0 = now_ns();
    do {
        seen = server_count(NULL);
        if (seen >= ready)
            break;
        sleep_ms(20);
    } while ((now_ns() - t0) / 1e9 < 10);
    long before = seen;
    int64_t ta = now_ns();
    ctl_send("abort 0 %d %s", a, opt.abort_rst ? "rst" : "fin");
    double abort_ms = (double)(now_ns() - ta) / 1e6;
    double sent_ms;
    double det = wait_count_n(before - a, ta, 30, 4, &seen, &polls, &sent_ms);
    double stat_ms;
    long after = server_count(&stat_ms);
    printf("== detection: %s, %d streams (%ld ready in %.2f s), abort %d with %s, count from %s\n",
           opt.server, n, ready, all_s, a, opt.abort_rst ? "RST" : "FIN", opt.count_name);
    printf("  count before %ld; aborts took %.1f ms; count <= %ld in the response received %.1f ms after the first abort\n"
           "  (that request was sent at %.1f ms; 4 pollers, %d polls); now %ld (one read %.1f ms)\n",
           before, abort_ms, before - a, det, sent_ms, polls, after, stat_ms);
    printf("BENCH scenario=detect server=%s n=%d abort=%d mode=%s count=%s before=%ld detect_ms=%.1f detect_sent_ms=%.1f "
           "abort_ms=%.1f polls=%d after=%ld stats_ms=%.1f%s\n",
           opt.server, n, a, opt.abort_rst ? "rst" : "fin", opt.count_name, before, det, sent_ms, abort_ms,
           polls, after, stat_ms, opt.extra);
    ctl_send("closeall");
}

/* One round of churn: opt.cycles connect/abort cycles; fills the RSS peak.
 * Returns seconds taken; *done the cycles completed. */
static double churn_round(struct procsample *rmax, long *done)
{
    atomic_store(&sh->churn_target, opt.cycles);
    atomic_store(&sh->churn_done, 0);
    int64_t t0 = now_ns();
    ctl_send("churn 0 %d", opt.concurrency);
    long last = -1;
    int64_t last_change = now_ns();
    while (atomic_load(&sh->churn_done) < opt.cycles) {
        sleep_ms(250);
        struct procsample r = proc_sum("responder");
        if (r.rss_kib > rmax->rss_kib)
            *rmax = r;
        long d = atomic_load(&sh->churn_done) + SUM(failed);
        if (d != last) {
            last = d;
            last_change = now_ns();
        } else if ((now_ns() - last_change) / 1e9 > 10) {
            fprintf(stderr, "loadgen: churn stalled at %ld cycles\n", (long)atomic_load(&sh->churn_done));
            break;
        }
    }
    double secs = (double)(now_ns() - t0) / 1e9;
    *done = atomic_load(&sh->churn_done);
    ctl_send("closeall");
    return secs;
}

/* Churn in rounds: after each, the count must return to 0 and RSS, threads
 * and fds to the fresh process's; a second round tells growth from warm-up. */
static void scen_churn(void)
{
    int n = opt.concurrency, rounds = opt.rounds > 0 ? opt.rounds : 1;
    sleep_ms(300);
    struct procsample r0 = proc_sum("responder"), g0 = proc_sum("nginx");
    struct procsample rmax = r0, r1 = r0, g1 = g0, rfirst = r0;
    long f0 = SUM(failed), done = 0, seen = -1;
    double secs = 0, zero_ms = -1;
    int polls;
    printf("== churn: %s, %d rounds of %ld connect/abort (RST) cycles, %d at a time\n",
           opt.server, rounds, opt.cycles, n);
    for (int k = 0; k < rounds; k++) {
        long d;
        double s = churn_round(&rmax, &d);
        done += d;
        secs += s;
        int64_t tz = now_ns();
        zero_ms = wait_count(0, tz, 30, &seen, &polls);
        sleep_ms(2000);
        r1 = proc_sum("responder");
        g1 = proc_sum("nginx");
        if (k == 0)
            rfirst = r1;
        printf("  round %d: %ld cycles in %.2f s (%.0f/s); count 0 after %.1f ms (now %ld); "
               "2 s later responder rss %ld KiB threads %ld fds %ld, nginx rss %ld KiB\n",
               k + 1, d, s, (double)d / s, zero_ms, seen, r1.rss_kib, r1.threads, r1.fds, g1.rss_kib);
    }
    double rss_pct = r0.rss_kib ? 100.0 * (double)(r1.rss_kib - r0.rss_kib) / (double)r0.rss_kib : 0;
    double rss_pct2 = rfirst.rss_kib ? 100.0 * (double)(r1.rss_kib - rfirst.rss_kib) / (double)rfirst.rss_kib : 0;
    printf("  %.1f s, %.0f cycles/s, failed %ld\n", secs, (double)done / secs, SUM(failed) - f0);
    print_proc("baseline (fresh)", r0, g0);
    print_proc("after last round", r1, g1);
    printf("  responder peak rss %ld KiB; after - fresh: rss %+ld KiB (%+.1f%%), threads %+ld, fds %+ld; "
           "last round - first round: rss %+ld KiB (%+.1f%%)\n",
           rmax.rss_kib, r1.rss_kib - r0.rss_kib, rss_pct, r1.threads - r0.threads, r1.fds - r0.fds,
           r1.rss_kib - rfirst.rss_kib, rss_pct2);
    printf("BENCH scenario=churn server=%s rounds=%d cycles=%ld concurrency=%d secs=%.2f cycles_per_s=%.0f failed=%ld "
           "count_after=%ld zero_ms=%.1f rss_base_kib=%ld rss_peak_kib=%ld rss_first_kib=%ld rss_after_kib=%ld "
           "rss_growth_pct=%.1f rss_growth_after_first_pct=%.1f "
           "fds_base=%ld fds_after=%ld threads_base=%ld threads_after=%ld nginx_rss_base_kib=%ld nginx_rss_after_kib=%ld%s\n",
           opt.server, rounds, done, n, secs, (double)done / secs, SUM(failed) - f0, seen, zero_ms,
           r0.rss_kib, rmax.rss_kib, rfirst.rss_kib, r1.rss_kib, rss_pct, rss_pct2, r0.fds, r1.fds,
           r0.threads, r1.threads, g0.rss_kib, g1.rss_kib, opt.extra);
}

/* A fixed schedule: *next moves on by period and this sleeps until then,
 * in steps of at most 100 ms so that *stop is seen.  A late caller goes
 * on at once, and the schedule from there: no burst of catch-ups. */
static void pace(int64_t *next, int64_t period, atomic_int *stop)
{
    *next += period;
    int64_t t = now_ns();
    if (*next < t)
        *next = t;
    while (!atomic_load(stop) && (t = now_ns()) < *next)
        sleep_ms((double)(*next - t > 100000000 ? 100000000 : *next - t) / 1e6);
}

static atomic_int pub_stop;
static atomic_long pub_count;

/* routes: opt.rate events per second on a fixed schedule, so that both
 * servers get the same load however long their publish requests take. */
static void *publisher(void *arg)
{
    (void)arg;
    int64_t next = now_ns();
    for (int seq = 0; !atomic_load(&pub_stop); seq++) {
        publish(seq % (opt.events > 0 ? opt.events : 1), NULL);
        atomic_fetch_add(&pub_count, 1);
        pace(&next, (int64_t)(1e9 / opt.rate), &pub_stop);
    }
    return NULL;
}

/* The machine's idle (with iowait) and total CPU time so far, from
 * /proc/stat's first line: 0, or -1 if unreadable. */
static int cpu_times(unsigned long long *idle, unsigned long long *total)
{
    FILE *f = fopen("/proc/stat", "r");
    unsigned long long v[8] = { 0 };
    int n = f ? fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
                       &v[3], &v[4], &v[5], &v[6], &v[7]) : 0;
    if (f)
        fclose(f);
    *idle = v[3] + v[4];
    *total = 0;
    for (int i = 0; i < 8; i++)
        *total += v[i];
    return n == 8 ? 0 : -1;
}

static void scen_routes(void)
{
    int n = opt.n;
    long ready;
    double all_s = connect_all(0, n, &ready);
    sleep_ms(500);
    pthread_t th;
    int have_pub = opt.rate > 0;
    int64_t tp = now_ns();
    if (have_pub)
        pthread_create(&th, NULL, publisher, NULL);
    double *st = calloc((size_t)opt.samples, sizeof(double));
    double *fb = calloc((size_t)opt.samples, sizeof(double));
    size_t ns = 0, bytes = 0;
    unsigned long long idle0, total0, idle1, total1;
    int cpu_ok = cpu_times(&idle0, &total0) == 0;
    /* One call every opt.pace_ms (a poll, not a flood), so the calls are
     * spread over many broadcasts; back to back with --pace 0. */
    int64_t next = now_ns();
    atomic_int never = 0;
    for (int k = 0; k < opt.samples; k++) {
        char *body;
        size_t bl;
        int64_t t0 = now_ns();
        int s = http("GET", opt.stats_path, NULL, NULL, &body, &bl);
        if (s == 200) {
            fb[ns] = (double)(http_first_byte_ns - t0) / 1e6;
            st[ns++] = (double)(now_ns() - t0) / 1e6;
            bytes = bl;
        }
        free(body);
        if (opt.pace_ms > 0)
            pace(&next, (int64_t)(opt.pace_ms * 1e6), &never);
    }
    cpu_ok = cpu_ok && cpu_times(&idle1, &total1) == 0 && total1 > total0;
    double idle_pct = cpu_ok ? 100.0 * (double)(idle1 - idle0) / (double)(total1 - total0) : -1;
    double *dt = calloc((size_t)opt.disconnects + 1, sizeof(double));
    size_t nd = 0, ok = 0;
    if (opt.disconnects > 0 && opt.disc_path[0]) {
        for (int i = 0; i < n && (int)nd < opt.disconnects; i++) {
            if (clients[i].state != CS_READY || !clients[i].token[0])
                continue;
            char body[128], *out;
            size_t ol;
            snprintf(body, sizeof body, "{\"connection_id\":\"%s\"}", clients[i].token);
            int64_t t0 = now_ns();
            int s = http("POST", opt.disc_path, "text/plain", body, &out, &ol);
            dt[nd++] = (double)(now_ns() - t0) / 1e6;
            if (s == 200 && out && strstr(out, "\"disconnected\":true"))
                ok++;
            free(out);
        }
    }
    if (have_pub) {
        atomic_store(&pub_stop, 1);
        pthread_join(th, NULL);
    }
    double pub_rate = (double)atomic_load(&pub_count) / ((double)(now_ns() - tp) / 1e9);
    qsort(st, ns, sizeof *st, cmp_double);
    qsort(fb, ns, sizeof *fb, cmp_double);
    qsort(dt, nd, sizeof *dt, cmp_double);
    printf("== short routes under load: %s, %d streams held (%ld ready in %.2f s), broadcasting %.1f events/s "
           "(asked %.1f)\n", opt.server, n, ready, all_s, pub_rate, opt.rate);
    printf("  stats   %3zu calls, one every %.0f ms: ms p50 %.2f p99 %.2f max %.2f (body %zu bytes); "
           "CPU idle meanwhile %.0f%%\n", ns, opt.pace_ms, pct(st, ns, 50), pct(st, ns, 99), pct(st, ns, 100),
           bytes, idle_pct);
    printf("          first byte of the answer: ms p50 %.2f p99 %.2f max %.2f\n",
           pct(fb, ns, 50), pct(fb, ns, 99), pct(fb, ns, 100));
    if (nd)
        printf("  disconnect %3zu calls (%zu disconnected:true): ms p50 %.2f p99 %.2f max %.2f\n",
               nd, ok, pct(dt, nd, 50), pct(dt, nd, 99), pct(dt, nd, 100));
    printf("BENCH scenario=routes server=%s n=%d ready=%ld rate_asked=%g rate=%.1f pace_ms=%.0f stats_calls=%zu "
           "stats_p50_ms=%.2f stats_p99_ms=%.2f stats_max_ms=%.2f stats_first_byte_p50_ms=%.2f "
           "stats_first_byte_p99_ms=%.2f stats_bytes=%zu cpu_idle_pct=%.1f disconnect_calls=%zu disconnect_ok=%zu disconnect_p50_ms=%.2f disconnect_p99_ms=%.2f%s\n",
           opt.server, n, ready, opt.rate, pub_rate, opt.pace_ms, ns, pct(st, ns, 50), pct(st, ns, 99),
           pct(st, ns, 100), pct(fb, ns, 50), pct(fb, ns, 99), bytes, idle_pct, nd, ok, nd ? pct(dt, nd, 50) : -1, nd ? pct(dt, nd, 99) : -1,
           opt.extra);
    free(st);
    free(fb);
    free(dt);
    ctl_send("closeall");
}

/* steady: a publisher thread on a fixed schedule (no catch-up bursts when a
 * request is slow: the next one goes out at once, then the schedule goes on
 * from there) until tend, so a run of S seconds publishes S * rate events.
 * ok[seq] says whether the server accepted seq. */
struct steady_pub {
    int64_t tend;
    atomic_int stop;
    atomic_int count;           /* published (tried) */
    int failed;                 /* read after join */
    char *ok;                   /* [seq_cap] */
    double *ms;                 /* [seq_cap] request times */
};

static void *steady_publisher(void *arg)
{
    struct steady_pub *p = arg;
    int64_t period = (int64_t)(1e9 / opt.rate), next = now_ns();
    for (int seq = 0; !atomic_load(&p->stop) && seq < seq_cap && next < p->tend; seq++) {
        int st = publish(seq, &p->ms[seq]);
        p->ok[seq] = st >= 200 && st < 300;   /* nchan: 201, or 202 without subscribers */
        if (!p->ok[seq])
            p->failed++;
        atomic_store(&p->count, seq + 1);
        pace(&next, period, &p->stop);
    }
    return NULL;
}

/* The process that holds the streams: the responder where there is one,
 * else the nginx worker(s) (nchan). */
static const char *steady_proc(void)
{
    for (int k = 0; k < opt.npids; k++)
        if (!strncmp(opt.pid_label[k], "responder", 9))
            return "responder";
    return "nginx";
}

struct steady_sample {
    double t;                   /* s since all connected */
    struct procsample r, g;     /* the server process; the nginx in front */
    long live, published, delivered;
};

static void steady_row(const struct steady_sample *x, struct procsample r0, struct procsample g0,
                       double dn, int front)
{
    char gk[16] = "", gp[16] = "";
    if (front) {
        snprintf(gk, sizeof gk, "%ld", x->g.rss_kib);
        snprintf(gp, sizeof gp, "%.2f", (double)(x->g.rss_kib - g0.rss_kib) / dn);
    }
    printf("  %7.0f %12ld %10.2f %14s %10s %7ld %9ld %11ld\n", x->t, x->r.rss_kib,
           (double)(x->r.rss_kib - r0.rss_kib) / dn, gk, gp, x->live, x->published, x->delivered);
    fflush(stdout);
}

static long sum_delivered(int n)
{
    long d = 0;
    for (int i = 0; i < n; i++)
        d += clients[i].seq_got;
    return d;
}

/* Holds N streams for hold_s seconds while publishing at opt.rate; samples
 * the server's RSS every sample_s seconds; counts every delivery. */
static void scen_steady(void)
{
    int n = opt.n;
    const char *sp = steady_proc();
    int front = !strcmp(sp, "responder");   /* an nginx in front of it */
    sleep_ms(300);
    struct procsample r0 = proc_sum(sp), g0 = proc_sum("nginx");
    long ready;
    double all_s = connect_all(0, n, &ready);
    sleep_ms(500);
    ctl_send("resetgap");
    long closed0 = SUM(closed), pings0 = 0;
    for (int i = 0; i < n; i++)
        pings0 += clients[i].pings;
    int nsamp = (int)(opt.hold_s / opt.sample_s) + 2, ns = 0;
    struct steady_sample *sm = calloc((size_t)nsamp, sizeof *sm);
    struct steady_pub pub = { .ok = calloc((size_t)seq_cap, 1),
                              .ms = calloc((size_t)seq_cap, sizeof(double)) };
    double dn = ready > 0 ? (double)ready : 1;
    int64_t t0 = now_ns(), tend = t0 + (int64_t)(opt.hold_s * 1e9);
    pub.tend = tend;
    sm[0].r = proc_sum(sp);
    sm[0].g = proc_sum("nginx");
    sm[0].live = SUM(live);
    struct procsample rmax = sm[0].r, gmax = sm[0].g;
    pthread_t th;
    int have_pub = opt.rate > 0;
    if (have_pub)
        pthread_create(&th, NULL, steady_publisher, &pub);
    printf("== steady: %s, %d streams (%ld ready in %.2f s), %.0f s, %.2f events/s, heartbeat %.1f s, "
           "RSS of the %s every %.0f s\n", opt.server, n, ready, all_s, opt.hold_s, opt.rate,
           opt.heartbeat_s, front ? "responder" : "nginx worker", opt.sample_s);
    printf("  %7s %12s %10s %14s %10s %7s %9s %11s\n", "t s", front ? "resp KiB" : "nginx KiB",
           "KiB/strm", front ? "nginx KiB" : "", front ? "KiB/strm" : "", "live", "published",
           "delivered");
    steady_row(&sm[ns++], r0, g0, dn, front);
    int64_t next = t0 + (int64_t)(opt.sample_s * 1e9);
    for (;;) {
        int64_t t = now_ns(), until = next < tend ? next : tend;
        if (t < until) {            /* the peak, once a second */
            sleep_ms((double)(until - t > 1000000000 ? 1000000000 : until - t) / 1e6);
            struct procsample r = proc_sum(sp), g = proc_sum("nginx");
            if (r.rss_kib > rmax.rss_kib)
                rmax = r;
            if (g.rss_kib > gmax.rss_kib)
                gmax = g;
            continue;
        }
        if (ns < nsamp) {
            struct steady_sample *x = &sm[ns];
            x->r = proc_sum(sp);
            x->g = proc_sum("nginx");
            x->live = SUM(live);
            x->delivered = sum_delivered(n);    /* first: never more than published x n */
            x->published = atomic_load(&pub.count);
            x->t = (double)(t - t0) / 1e9;
            steady_row(&sm[ns++], r0, g0, dn, front);
        }
        if (until >= tend)
            break;
        next += (int64_t)(opt.sample_s * 1e9);
    }
    /* Gaps as they stand at the last sample, publishing still going. */
    double *gaps = malloc(sizeof(double) * (size_t)n);
    struct gap_tally gt = gap_tally(n, gaps);
    size_t ng = gt.ng;
    long late = gt.late, noping = gt.noping, pings = gt.pings;
    int64_t pgap_max = gt.ping_gap_max;
    if (have_pub) {
        atomic_store(&pub.stop, 1);
        pthread_join(th, NULL);
    }
    double pub_secs = (double)(now_ns() - t0) / 1e9;
    int npub = atomic_load(&pub.count);
    long ok = 0;
    for (int e = 0; e < npub; e++)
        ok += pub.ok[e];
    /* Stragglers: until every live client has as many as were accepted, 10 s at most. */
    int64_t wend = now_ns() + 10 * (int64_t)1e9;
    for (;;) {
        int behind = 0;
        for (int i = 0; i < n && !behind; i++)
            if (clients[i].state == CS_READY && (long)clients[i].seq_got < ok)
                behind = 1;
        if (!behind || now_ns() > wend)
            break;
        sleep_ms(50);
    }
    /* Every delivery: each client that was ready expects every accepted event. */
    long expected = 0, received = 0, clients_missing = 0, dups = 0, reorder = 0, extra = 0;
    long events_missed = 0, gotmin = -1, gotmax = 0;
    double lat_sum = 0, lat_max = 0;
    long *miss_by_seq = calloc((size_t)seq_cap + 1, sizeof(long));
    for (int i = 0; i < n; i++) {
        struct client *c = &clients[i];
        if (!c->t_ready)
            continue;
        const uint8_t *b = &seen[(size_t)i * seq_bytes];
        long got = 0;
        for (int e = 0; e < npub; e++) {
            int has = (b[e / 8] >> (e % 8)) & 1;
            if (pub.ok[e]) {
                expected++;
                got += has;
                if (!has)
                    miss_by_seq[e]++;
            } else if (has) {
                extra++;        /* a publish that failed but was delivered */
            }
        }
        received += got;
        if (got < ok)
            clients_missing++;
        if (gotmin < 0 || got < gotmin)
            gotmin = got;
        if (got > gotmax)
            gotmax = got;
        dups += c->seq_dup;
        reorder += c->seq_reorder;
        lat_sum += c->lat_sum_ms;
        if (c->lat_max_ms > lat_max)
            lat_max = c->lat_max_ms;
    }
    for (int e = 0; e < npub; e++)
        if (miss_by_seq[e])
            events_missed++;
    long live = SUM(live);
    struct procsample rend = sm[ns - 1].r, gend = sm[ns - 1].g, rfirst = sm[0].r;
    struct procsample rsec = ns > 2 ? sm[1].r : sm[0].r;
    long cnt = server_count(NULL);      /* after the last sample: the stats call allocates */
    double *pms = malloc(sizeof(double) * (size_t)(npub > 0 ? npub : 1));
    for (int e = 0; e < npub; e++)
        pms[e] = pub.ms[e];
    qsort(pms, (size_t)npub, sizeof *pms, cmp_double);
    double kib_start = (double)(rfirst.rss_kib - r0.rss_kib) / dn;
    double kib_end = (double)(rend.rss_kib - r0.rss_kib) / dn;
    double growth = (double)(rend.rss_kib - rfirst.rss_kib) / dn;
    /* Growth in % of the whole post-connect RSS (of the second sample: past warm-up). */
    double growth_pct = rfirst.rss_kib > 0
        ? 100.0 * (double)(rend.rss_kib - rfirst.rss_kib) / (double)rfirst.rss_kib : 0;
    double growth2_pct = rsec.rss_kib > 0
        ? 100.0 * (double)(rend.rss_kib - rsec.rss_kib) / (double)rsec.rss_kib : 0;
    double ng_start = front ? (double)(sm[0].g.rss_kib - g0.rss_kib) / dn : -1;
    double ng_end = front ? (double)(gend.rss_kib - g0.rss_kib) / dn : -1;
    double pings_per = ready ? (double)(pings - pings0) / dn : 0;
    printf("  published %d in %.1f s (%.2f/s), accepted %ld, failed %d; publish request ms p50 %.1f max %.1f\n",
           npub, pub_secs, (double)npub / pub_secs, ok, pub.failed,
           pct(pms, (size_t)npub, 50), pct(pms, (size_t)npub, 100));
    printf("  deliveries: %ld expected (%ld accepted x %ld streams), %ld received, missing %ld in %ld streams "
           "(%ld events missed by someone); per stream min %ld max %ld; duplicates %ld, out of order %ld, "
           "of failed publishes %ld, bad seq %ld\n",
           expected, ok, ready, received, expected - received, clients_missing, events_missed,
           gotmin < 0 ? 0 : gotmin, gotmax, dups, reorder, extra, SUM(bad_seq));
    if (events_missed) {
        printf("  missed (seq: streams):");
        int shown = 0;
        for (int e = 0; e < npub && shown < 12; e++)
            if (miss_by_seq[e]) {
                printf(" %d: %ld", e, miss_by_seq[e]);
                shown++;
            }
        printf("%s\n", events_missed > shown ? " ..." : "");
    }
    printf("  delivery latency ms: mean %.2f max %.2f\n",
           received ? lat_sum / (double)received : -1, lat_max);
    printf("  largest gap between events s: p50 %.2f p99 %.2f max %.2f; late (> hb+1 s) %ld; "
           "largest gap between pings %.2f s; %.1f pings per stream; no ping %ld\n",
           pct(gaps, ng, 50), pct(gaps, ng, 99), pct(gaps, ng, 100), late, (double)pgap_max / 1e9,
           pings_per, noping);
    printf("  failed %ld, closed by server %ld, live at end %ld, server count %ld\n",
           SUM(failed), SUM(closed) - closed0, live, cnt);
    printf("  %s KiB/stream: %.2f after connect, %.2f at the end; growth %+.2f KiB/stream (%+.1f%% of the "
           "post-connect RSS %ld KiB; %+.1f%% from the second sample); peak rss %ld KiB\n",
           front ? "responder" : "nginx worker", kib_start, kib_end, growth, growth_pct, rfirst.rss_kib,
           growth2_pct, rmax.rss_kib);
    if (front)
        printf("  nginx in front KiB/stream: %.2f after connect, %.2f at the end; peak rss %ld KiB\n",
               ng_start, ng_end, gmax.rss_kib);
    /* The series in the BENCH line, for the plot: t and KiB/stream per sample. */
    size_t scap = (size_t)ns * 24 + 1;
    char *st = malloc(scap), *sk = malloc(scap), *sg = malloc(scap);
    size_t lt = 0, lk = 0, lg = 0;
    for (int k = 0; k < ns; k++) {
        lt += (size_t)snprintf(st + lt, scap - lt, "%s%.0f", k ? "," : "", sm[k].t);
        lk += (size_t)snprintf(sk + lk, scap - lk, "%s%.2f", k ? "," : "",
                               (double)(sm[k].r.rss_kib - r0.rss_kib) / dn);
        lg += (size_t)snprintf(sg + lg, scap - lg, "%s%.2f", k ? "," : "",
                               front ? (double)(sm[k].g.rss_kib - g0.rss_kib) / dn : -1.0);
    }
    printf("BENCH scenario=steady server=%s n=%d ready=%ld secs=%.0f rate=%.2f sample_s=%.0f proc=%s "
           "published=%d accepted=%ld pub_failed=%d publish_p50_ms=%.2f publish_max_ms=%.2f "
           "expected=%ld received=%ld missing=%ld clients_missing=%ld dups=%ld reordered=%ld "
           "lat_mean_ms=%.2f lat_max_ms=%.2f gap_p99_s=%.2f gap_max_s=%.2f late=%ld ping_gap_max_s=%.2f "
           "pings_per_stream=%.1f failed=%ld closed=%ld live_end=%ld count_end=%ld "
           "rss_base_kib=%ld rss_start_kib=%ld rss_end_kib=%ld rss_peak_kib=%ld "
           "kib_per_stream_start=%.2f kib_per_stream_end=%.2f growth_kib_per_stream=%.2f growth_pct=%.1f "
           "growth_after_first_pct=%.1f nginx_kib_per_stream_start=%.2f nginx_kib_per_stream_end=%.2f "
           "series_t=%s series_kib=%s series_nginx_kib=%s%s\n",
           opt.server, n, ready, opt.hold_s, opt.rate, opt.sample_s, front ? "responder" : "nginx",
           npub, ok, pub.failed, pct(pms, (size_t)npub, 50), pct(pms, (size_t)npub, 100),
           expected, received, expected - received, clients_missing, dups, reorder,
           received ? lat_sum / (double)received : -1, lat_max, pct(gaps, ng, 99), pct(gaps, ng, 100),
           late, (double)pgap_max / 1e9, pings_per, SUM(failed), SUM(closed) - closed0, live, cnt,
           r0.rss_kib, rfirst.rss_kib, rend.rss_kib, rmax.rss_kib, kib_start, kib_end, growth,
           growth_pct, growth2_pct, ng_start, ng_end, st, sk, sg, opt.extra);
    free(st);
    free(sk);
    free(sg);
    free(pms);
    free(miss_by_seq);
    free(gaps);
    free(pub.ok);
    free(pub.ms);
    free(sm);
    ctl_send("closeall");
}

/* ---- pushed monitor ----------------------------------------------------- */

/* What happened to one public id, and when each observer saw it (monotonic
 * ns, 0: not yet).  Keyed by the 16 hex digits of "c-...". */
struct idrec {
    uint64_t id;
    int64_t t_open;             /* connect() of the stream, if opened while measured */
    int64_t t_close;            /* our abort of it, if measured */
    int64_t mon_open, mon_close;    /* the monitor's changes event named it */
    int64_t poll_open, poll_close;  /* the first 5 s stats poll that showed the change */
};

#define IDTAB_BITS 16
static struct idrec *idtab;
static pthread_mutex_t idmu = PTHREAD_MUTEX_INITIALIZER;

/* The record of id (created), under idmu; NULL if the table is full. */
static struct idrec *idrec_get(uint64_t id)
{
    size_t mask = ((size_t)1 << IDTAB_BITS) - 1, h = (size_t)(id * 0x9E3779B97F4A7C15ull) & mask;
    for (size_t k = 0; k <= mask; k++, h = (h + 1) & mask) {
        if (idtab[h].id == id)
            return &idtab[h];
        if (idtab[h].id == 0) {
            idtab[h].id = id;
            return &idtab[h];
        }
    }
    return NULL;
}

struct monitor_state {
    atomic_int stop;
    atomic_int connected;       /* its own `connected` came */
    atomic_long changes, resyncs, summaries, opened, closed;
    atomic_long bytes;
    int fd;
};

/* The monitor stream's events: `changes` lists opened, closed and updated
 * objects whose "id" is "c-<16 hex>"; each id is put in the list whose
 * start precedes it. */
static void monitor_changes(const char *d, int64_t t, struct monitor_state *m)
{
    const char *po = strstr(d, "\"opened\":["), *pc = strstr(d, "\"closed\":["),
               *pu = strstr(d, "\"updated\":[");
    pthread_mutex_lock(&idmu);
    for (const char *p = d; (p = strstr(p, "\"id\":\"c-")); p += 8) {
        uint64_t id = strtoull(p + 8, NULL, 16);
        const char *best = NULL;
        int which = 0;          /* 1 opened, 2 closed, 3 updated */
        if (po && po < p && (!best || po > best)) { best = po; which = 1; }
        if (pc && pc < p && (!best || pc > best)) { best = pc; which = 2; }
        if (pu && pu < p && (!best || pu > best)) { best = pu; which = 3; }
        struct idrec *r = which == 1 || which == 2 ? idrec_get(id) : NULL;
        if (r && which == 1 && !r->mon_open) {
            r->mon_open = t;
            atomic_fetch_add(&m->opened, 1);
        } else if (r && which == 2 && !r->mon_close) {
            r->mon_close = t;
            atomic_fetch_add(&m->closed, 1);
        }
    }
    pthread_mutex_unlock(&idmu);
}

/* One admin stream with ?monitor=1, read on a thread of its own with a
 * parser that takes lines of any length (a `changes` event is one line of
 * up to 500 objects). */
static void *monitor_main(void *arg)
{
    struct monitor_state *m = arg;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return NULL;
    if (connect(fd, (struct sockaddr *)&srv, sizeof srv) != 0) {
        close(fd);
        return NULL;
    }
    m->fd = fd;
    char req[1024];
    int rl = snprintf(req, sizeof req,
                      "GET %s%smonitor=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n%s%s%s\r\n",
                      opt.stream_path, strchr(opt.stream_path, '?') ? "&" : "?",
                      opt.auth_b64 ? "Authorization: Basic " : "", opt.auth_b64 ? opt.auth_b64 : "",
                      opt.auth_b64 ? "\r\n" : "");
    if (send(fd, req, (size_t)rl, MSG_NOSIGNAL) != rl)
        return NULL;
    size_t cap = 1 << 20, len = 0, lcap = 1 << 20, ll = 0;
    char *raw = malloc(cap), *line = malloc(lcap), ev[32] = "";
    int head = 1, chunked = 0;
    long chunk_left = -1;       /* -1: reading a size line */
    char sizebuf[32];
    size_t sl = 0;
    while (!atomic_load(&m->stop)) {
        ssize_t r = read(fd, raw + len, cap - len);
        if (r <= 0)
            break;
        int64_t t = now_ns();
        atomic_fetch_add(&m->bytes, r);
        len += (size_t)r;
        size_t k = 0;
        if (head) {
            char *e = memmem(raw, len, "\r\n\r\n", 4);
            if (!e)
                continue;
            chunked = memmem(raw, (size_t)(e - raw), "chunked", 7) != NULL;
            k = (size_t)(e - raw) + 4;
            head = 0;
        }
        for (; k < len; k++) {
            char ch = raw[k];
            if (chunked && chunk_left < 0) {        /* the size line */
                if (ch == '\n') {
                    sizebuf[sl] = '\0';
                    chunk_left = strtol(sizebuf, NULL, 16);
                    sl = 0;
                    if (chunk_left == 0)
                        goto done;
                } else if (ch != '\r' && sl < sizeof sizebuf - 1) {
                    sizebuf[sl++] = ch;
                }
                continue;
            }
            if (chunked && chunk_left == 0) {       /* CRLF after a chunk */
                if (ch == '\n')
                    chunk_left = -1;
                continue;
            }
            if (chunked)
                chunk_left--;
            if (ch != '\n') {
                if (ll + 1 >= lcap) {
                    lcap *= 2;
                    line = realloc(line, lcap);
                }
                line[ll++] = ch;
                continue;
            }
            line[ll] = '\0';
            if (ll && line[ll - 1] == '\r')
                line[--ll] = '\0';
            if (!strncmp(line, "event:", 6)) {
                snprintf(ev, sizeof ev, "%s", line + 6 + (line[6] == ' '));
            } else if (!strncmp(line, "data:", 5)) {
                if (!strcmp(ev, "changes")) {
                    atomic_fetch_add(&m->changes, 1);
                    monitor_changes(line + 5, t, m);
                } else if (!strcmp(ev, "resync")) {
                    atomic_fetch_add(&m->resyncs, 1);
                } else if (!strcmp(ev, "summary")) {
                    atomic_fetch_add(&m->summaries, 1);
                } else if (!strcmp(ev, "connected")) {
                    atomic_store(&m->connected, 1);
                }
            } else if (ll == 0) {
                ev[0] = '\0';
            }
            ll = 0;
        }
        len = 0;
    }
done:
    free(raw);
    free(line);
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The old dashboard: the full stats answer every poll_s, its list of live
 * public ids (active_connection_ids) compared with the previous one. */
struct poll_state {
    atomic_int stop;
    double period_ms;
    int calls;
    double ms[4096];
    size_t bytes;
};

static size_t parse_ids(const char *body, uint64_t **out)
{
    const char *p = strstr(body, "\"active_connection_ids\":[");
    size_t n = 0, cap = 1024;
    uint64_t *v = malloc(cap * sizeof *v);
    if (p) {
        const char *end = strchr(p, ']');
        for (p += 25; (p = strstr(p, "\"c-")) && (!end || p < end); p += 3) {
            if (n == cap)
                v = realloc(v, (cap *= 2) * sizeof *v);
            v[n++] = strtoull(p + 3, NULL, 16);
        }
    }
    qsort(v, n, sizeof *v, cmp_u64);
    *out = v;
    return n;
}

static void *poll_stats_main(void *arg)
{
    struct poll_state *ps = arg;
    uint64_t *prev = NULL;
    size_t np = 0;
    int64_t next = now_ns();
    while (!atomic_load(&ps->stop)) {
        char *body;
        size_t bl;
        int64_t t0 = now_ns();
        int st = http("GET", opt.stats_path, NULL, NULL, &body, &bl);
        int64_t t1 = now_ns();
        if (st == 200 && body) {
            if (ps->calls < 4096)
                ps->ms[ps->calls++] = (double)(t1 - t0) / 1e6;
            ps->bytes = bl;
            uint64_t *cur;
            size_t nc = parse_ids(body, &cur);
            pthread_mutex_lock(&idmu);
            for (size_t k = 0; k < nc; k++) {       /* appeared */
                if (prev && bsearch(&cur[k], prev, np, sizeof *prev, cmp_u64))
                    continue;
                struct idrec *r = idrec_get(cur[k]);
                if (r && !r->poll_open)
                    r->poll_open = t1;
            }
            for (size_t k = 0; prev && k < np; k++) {   /* gone */
                if (bsearch(&prev[k], cur, nc, sizeof *cur, cmp_u64))
                    continue;
                struct idrec *r = idrec_get(prev[k]);
                if (r && !r->poll_close)
                    r->poll_close = t1;
            }
            pthread_mutex_unlock(&idmu);
            free(prev);
            prev = cur;
            np = nc;
        }
        free(body);
        pace(&next, (int64_t)(ps->period_ms * 1e6), &ps->stop);
    }
    free(prev);
    return NULL;
}

/* Percentiles of the latencies in v (ms, n of them), into p50/p99/max. */
struct pcts {
    double p50, p99, max;
    size_t n;
};

static struct pcts pcts_of(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    struct pcts r = { pct(v, n, 50), pct(v, n, 99), pct(v, n, 100), n };
    return r;
}

/* Where scen_monitor sorts one change's delays (ms): opened or closed,
 * all of them, and the old poll's. */
struct tally {
    double *all;
    size_t *nall;
    double *poll;
    size_t *npoll;
    size_t *want, *mon_missing, *poll_missing;
};

/* One change made at t (ns), seen by the monitor at mon and by the poll at
 * poll (0: never): its delays go to kind[] and the tallies. */
static void tally_change(struct tally *tl, double *kind, size_t *nkind, int64_t t, int64_t mon,
                         int64_t poll)
{
    (*tl->want)++;
    if (mon >= t)
        kind[(*nkind)++] = tl->all[(*tl->nall)++] = (double)(mon - t) / 1e6;
    else
        (*tl->mon_missing)++;
    if (poll > t)
        tl->poll[(*tl->npoll)++] = (double)(poll - t) / 1e6;
    else
        (*tl->poll_missing)++;
}

/* monitor: N streams held, opt.rate of them a second aborted (RST) and
 * replaced by a new one, for hold_s seconds; an admin stream with
 * ?monitor=1 and, as the old dashboard did, a full stats call every
 * --poll-ms (5000) both watch.  Latency of each change: from our connect()
 * or abort to the `changes` event naming it, and to the first poll that
 * showed it. */
static void scen_monitor(void)
{
    int n = opt.n;
    idtab = calloc((size_t)1 << IDTAB_BITS, sizeof *idtab);
    long ready;
    double all_s = connect_all(0, n, &ready);
    struct monitor_state ms = { .fd = -1 };
    pthread_t mth, pth;
    pthread_create(&mth, NULL, monitor_main, &ms);
    for (int k = 0; k < 500 && !atomic_load(&ms.connected); k++)
        sleep_ms(10);
    struct poll_state *ps = calloc(1, sizeof *ps);
    ps->period_ms = opt.poll_ms;
    pthread_create(&pth, NULL, poll_stats_main, ps);
    sleep_ms(1000);
    int64_t tm = now_ns(), period = (int64_t)(1e9 / opt.rate), next = tm;
    int64_t tend = tm + (int64_t)(opt.hold_s * 1e9);
    long churned = 0, skipped = 0;
    for (int slot = 0; now_ns() < tend; slot = (slot + 1) % n) {
        struct client *c = &clients[slot];
        if (c->state == CS_READY && c->pub_id) {
            uint64_t id = c->pub_id;
            int64_t t_start = c->t_start;
            ctl_send("abort %d %d rst", slot, slot + 1);
            pthread_mutex_lock(&idmu);
            struct idrec *r = idrec_get(id);
            if (r) {
                r->t_close = c->t_abort;
                if (t_start >= tm)
                    r->t_open = t_start;
            }
            pthread_mutex_unlock(&idmu);
            churned++;
        } else {
            skipped++;
        }
        ctl_send("connect %d %d", slot, slot + 1);
        pace(&next, period, &pub_stop);
    }
    double churn_s = (double)(now_ns() - tm) / 1e9;
    sleep_ms(1000);             /* the last connects; then theirs are recorded */
    pthread_mutex_lock(&idmu);
    for (int i = 0; i < n; i++)
        if (clients[i].state == CS_READY && clients[i].pub_id && clients[i].t_start >= tm) {
            struct idrec *r = idrec_get(clients[i].pub_id);
            if (r)
                r->t_open = clients[i].t_start;
        }
    pthread_mutex_unlock(&idmu);
    /* One more poll period and a bit, so the last changes reach the poller too. */
    sleep_ms(opt.poll_ms + 1000);
    atomic_store(&ps->stop, 1);
    atomic_store(&ms.stop, 1);
    if (ms.fd >= 0)
        shutdown(ms.fd, SHUT_RDWR);
    pthread_join(pth, NULL);
    pthread_join(mth, NULL);
    if (ms.fd >= 0)
        close(ms.fd);
    size_t cap = (size_t)1 << IDTAB_BITS;
    double *mo = malloc(cap * sizeof(double)), *mc = malloc(cap * sizeof(double)),
           *ma = malloc(2 * cap * sizeof(double)), *pa = malloc(2 * cap * sizeof(double));
    size_t nmo = 0, nmc = 0, nma = 0, npa = 0, want = 0, mon_missing = 0, poll_missing = 0;
    struct tally all = { ma, &nma, pa, &npa, &want, &mon_missing, &poll_missing };
    for (size_t h = 0; h < cap; h++) {
        struct idrec *r = &idtab[h];
        if (!r->id)
            continue;
        if (r->t_open)
            tally_change(&all, mo, &nmo, r->t_open, r->mon_open, r->poll_open);
        if (r->t_close)
            tally_change(&all, mc, &nmc, r->t_close, r->mon_close, r->poll_close);
    }
    struct pcts po = pcts_of(mo, nmo), pc = pcts_of(mc, nmc), pall = pcts_of(ma, nma),
                pp = pcts_of(pa, npa), pst = pcts_of(ps->ms, (size_t)ps->calls);
    printf("== monitor: %s, %d streams (%ld ready in %.2f s), %.0f replaced a second (RST, then a new one) "
           "for %.1f s: %ld churned, %ld slots not ready when their turn came\n",
           opt.server, n, ready, all_s, opt.rate, churn_s, churned, skipped);
    printf("  pushed monitor (?monitor=1): %ld changes events, %ld summary, %ld resync, %ld bytes\n",
           atomic_load(&ms.changes), atomic_load(&ms.summaries), atomic_load(&ms.resyncs),
           atomic_load(&ms.bytes));
    printf("    change -> `changes` naming it, ms: all p50 %.1f p99 %.1f max %.1f (%zu of %zu; missing %zu)\n",
           pall.p50, pall.p99, pall.max, nma, want, mon_missing);
    printf("    opened (from connect()) p50 %.1f p99 %.1f max %.1f; closed (from the RST) p50 %.1f p99 %.1f max %.1f\n",
           po.p50, po.p99, po.max, pc.p50, pc.p99, pc.max);
    printf("  the old way, full stats every %.0f ms (%d calls, ms p50 %.1f p99 %.1f max %.1f, %zu bytes):\n"
           "    change -> first poll that shows it, ms: p50 %.0f p99 %.0f max %.0f (%zu; missing %zu)\n",
           opt.poll_ms, ps->calls, pst.p50, pst.p99, pst.max, ps->bytes, pp.p50, pp.p99, pp.max, npa,
           poll_missing);
    printf("BENCH scenario=monitor server=%s n=%d ready=%ld rate=%g secs=%.1f churned=%ld changes_expected=%zu "
           "mon_events=%ld mon_resyncs=%ld mon_summaries=%ld mon_missing=%zu mon_p50_ms=%.1f mon_p99_ms=%.1f "
           "mon_max_ms=%.1f mon_open_p50_ms=%.1f mon_open_p99_ms=%.1f mon_close_p50_ms=%.1f mon_close_p99_ms=%.1f "
           "poll_ms=%.0f poll_missing=%zu poll_p50_ms=%.1f poll_p99_ms=%.1f poll_max_ms=%.1f "
           "poll_stats_p50_ms=%.1f poll_stats_p99_ms=%.1f poll_stats_bytes=%zu%s\n",
           opt.server, n, ready, opt.rate, churn_s, churned, want, atomic_load(&ms.changes),
           atomic_load(&ms.resyncs), atomic_load(&ms.summaries), mon_missing, pall.p50, pall.p99, pall.max,
           po.p50, po.p99, pc.p50, pc.p99, opt.poll_ms, poll_missing, pp.p50, pp.p99, pp.max, pst.p50,
           pst.p99, ps->bytes, opt.extra);
    free(mo);
    free(mc);
    free(ma);
    free(pa);
    free(ps);
    free(idtab);
    ctl_send("closeall");
}

/* ---- stats shapes --------------------------------------------------------- */

/* statsq: N streams held while opt.rate events/s are broadcast; each stats
 * shape of --stats-shapes (LABEL=PATH,...) called opt.samples times, one
 * every pace_ms, one shape after the other. */
static void scen_statsq(void)
{
    int n = opt.n;
    long ready;
    double all_s = connect_all(0, n, &ready);
    sleep_ms(500);
    pthread_t th;
    int have_pub = opt.rate > 0;
    int64_t tp = now_ns();
    if (have_pub)
        pthread_create(&th, NULL, publisher, NULL);
    char *shapes = strdup(opt.stats_shapes), *save = NULL;
    char bench[4096];
    size_t bo = 0;
    printf("== stats shapes: %s, %d streams held (%ld ready in %.2f s), broadcasting %.1f events/s; "
           "%d calls of each, one every %.0f ms\n", opt.server, n, ready, all_s, opt.rate, opt.samples,
           opt.pace_ms);
    for (char *tok = strtok_r(shapes, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq)
            continue;
        *eq = '\0';
        const char *label = tok, *path = eq + 1;
        double *st = calloc((size_t)opt.samples, sizeof(double));
        double *fb = calloc((size_t)opt.samples, sizeof(double));
        size_t ns = 0, bytes = 0;
        int bad = 0;
        int64_t next = now_ns();
        atomic_int never = 0;
        for (int k = 0; k < opt.samples; k++) {
            char *body;
            size_t bl;
            int64_t t0 = now_ns();
            int s = http("GET", path, NULL, NULL, &body, &bl);
            if (s == 200) {
                fb[ns] = (double)(http_first_byte_ns - t0) / 1e6;
                st[ns++] = (double)(now_ns() - t0) / 1e6;
                bytes = bl;
            } else {
                bad++;
            }
            free(body);
            if (opt.pace_ms > 0)
                pace(&next, (int64_t)(opt.pace_ms * 1e6), &never);
        }
        struct pcts a = pcts_of(st, ns), f = pcts_of(fb, ns);
        printf("  %-8s %-40s ms p50 %.2f p99 %.2f max %.2f; first byte p99 %.2f; %zu bytes; %d not 200\n",
               label, path, a.p50, a.p99, a.max, f.p99, bytes, bad);
        bo += (size_t)snprintf(bench + bo, sizeof bench - bo,
                               " %s_p50_ms=%.2f %s_p99_ms=%.2f %s_max_ms=%.2f %s_first_byte_p99_ms=%.2f %s_bytes=%zu %s_bad=%d",
                               label, a.p50, label, a.p99, label, a.max, label, f.p99, label, bytes, label, bad);
        free(st);
        free(fb);
    }
    if (have_pub) {
        atomic_store(&pub_stop, 1);
        pthread_join(th, NULL);
        atomic_store(&pub_stop, 0);
    }
    double pub_rate = (double)atomic_load(&pub_count) / ((double)(now_ns() - tp) / 1e9);
    printf("  broadcast meanwhile %.1f events/s\n", pub_rate);
    printf("BENCH scenario=statsq server=%s n=%d ready=%ld rate_asked=%g rate=%.1f calls=%d pace_ms=%.0f%s%s\n",
           opt.server, n, ready, opt.rate, pub_rate, opt.samples, opt.pace_ms, bench, opt.extra);
    free(shapes);
    ctl_send("closeall");
}

/* ---- Redis cost of a cluster ------------------------------------------------ */

struct cmdstats {
    int n;
    char name[128][40];
    long calls[128];
};

/* INFO commandstats (and used_memory) of the cluster's Redis, through
 * --redis-cli; INFO itself left out. */
static struct cmdstats redis_cmdstats(long *used_memory)
{
    struct cmdstats cs = { 0 };
    char cmd[512], line[512];
    snprintf(cmd, sizeof cmd, "%s INFO commandstats", opt.redis_cli);
    FILE *f = popen(cmd, "r");
    while (f && fgets(line, sizeof line, f)) {
        char *c = strstr(line, ":calls=");
        if (strncmp(line, "cmdstat_", 8) != 0 || !c || cs.n >= 128)
            continue;
        *c = '\0';
        if (!strcmp(line + 8, "info"))
            continue;
        snprintf(cs.name[cs.n], sizeof cs.name[0], "%.39s", line + 8);
        cs.calls[cs.n++] = atol(c + 7);
    }
    if (f)
        pclose(f);
    if (used_memory) {
        *used_memory = -1;
        snprintf(cmd, sizeof cmd, "%s INFO memory", opt.redis_cli);
        if ((f = popen(cmd, "r"))) {
            while (fgets(line, sizeof line, f))
                if (!strncmp(line, "used_memory:", 12))
                    *used_memory = atol(line + 12);
            pclose(f);
        }
    }
    return cs;
}

static long cs_calls(const struct cmdstats *cs, const char *name)
{
    for (int k = 0; k < cs->n; k++)
        if (!strcmp(cs->name[k], name))
            return cs->calls[k];
    return 0;
}

static long cs_total(const struct cmdstats *cs)
{
    long t = 0;
    for (int k = 0; k < cs->n; k++)
        t += cs->calls[k];
    return t;
}

/* Per command, b - a, as "name:calls/div,..." of the largest, into out. */
static void cs_delta(const struct cmdstats *a, const struct cmdstats *b, double div, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (int k = 0; k < b->n; k++) {
        long d = b->calls[k] - cs_calls(a, b->name[k]);
        if (d > 0 && o < cap)
            o += (size_t)snprintf(out + o, cap - o, "%s%s:%.2f", o ? "," : "", b->name[k], (double)d / div);
    }
}

/* rediscost: N streams over the cluster's nodes (--ports); the Redis
 * commands in hold_s idle seconds (heartbeats alone) and while opt.events
 * publishes go out interval_ms apart; Redis memory before and after the
 * streams connected. */
static void scen_rediscost(void)
{
    int n = opt.n, nodes = opt.nodes > 0 ? opt.nodes : nports;
    long mem0, mem1, mem2;
    redis_cmdstats(&mem0);
    long ready;
    double all_s = connect_all(0, n, &ready);
    sleep_ms(2000);
    struct cmdstats c0 = redis_cmdstats(&mem1);
    int64_t t0 = now_ns();
    sleep_ms(opt.hold_s * 1000);
    struct cmdstats c1 = redis_cmdstats(NULL);
    int64_t t1 = now_ns();
    double *pubms = calloc((size_t)opt.events, sizeof(double));
    int pubfail = 0;
    for (int e = 0; e < opt.events; e++) {
        if (publish(e, &pubms[e]) != 200)
            pubfail++;
        sleep_ms(opt.interval_ms);
    }
    sleep_ms(500);
    struct cmdstats c2 = redis_cmdstats(&mem2);
    int64_t t2 = now_ns();
    double idle_s = (double)(t1 - t0) / 1e9, pub_s = (double)(t2 - t1) / 1e9;
    double beats = idle_s / opt.heartbeat_s;
    long idle_calls = cs_total(&c1) - cs_total(&c0), pub_calls = cs_total(&c2) - cs_total(&c1);
    double idle_rate = (double)idle_calls / idle_s;
    double per_beat_node = (double)idle_calls / beats / nodes;
    double per_pub = ((double)pub_calls - idle_rate * pub_s) / opt.events;
    double mem_per = ready ? (double)(mem1 - mem0) / (double)ready : -1;
    char dbeat[2048], dpub[2048];
    cs_delta(&c0, &c1, beats * nodes, dbeat, sizeof dbeat);
    cs_delta(&c1, &c2, opt.events, dpub, sizeof dpub);
    struct pcts pp = pcts_of(pubms, (size_t)opt.events);
    printf("== rediscost: %s, %d streams over %d nodes (%ld ready in %.2f s)\n", opt.server, n, nodes, ready, all_s);
    printf("  Redis used_memory: %ld before the streams, %ld with them (%.0f bytes a stream), %ld after the publishes\n",
           mem0, mem1, mem_per, mem2);
    printf("  idle %.1f s (%.1f heartbeats): %ld commands, %.1f per heartbeat per node: %s\n",
           idle_s, beats, idle_calls, per_beat_node, dbeat);
    printf("  %d publishes in %.1f s (request p50 %.2f ms, %d failed): %ld commands, %.1f per publish after the "
           "idle rate (raw per publish: %s)\n", opt.events, pub_s, pp.p50, pubfail, pub_calls, per_pub, dpub);
    printf("BENCH scenario=rediscost server=%s n=%d nodes=%d ready=%ld idle_s=%.1f heartbeats=%.1f idle_calls=%ld "
           "cmds_per_heartbeat_node=%.2f publishes=%d pub_failed=%d cmds_per_publish=%.2f publish_p50_ms=%.2f "
           "redis_mem_before=%ld redis_mem_streams=%ld redis_bytes_per_stream=%.0f per_beat=%s per_publish=%s%s\n",
           opt.server, n, nodes, ready, idle_s, beats, idle_calls, per_beat_node, opt.events, pubfail, per_pub,
           pp.p50, mem0, mem1, mem_per, dbeat, dpub, opt.extra);
    free(pubms);
    ctl_send("closeall");
}

/* ---- main ------------------------------------------------------------- */

static char *b64(const char *s)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(s);
    char *o = malloc(4 * ((n + 2) / 3) + 1), *p = o;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned char)s[i] << 16;
        if (i + 1 < n) v |= (unsigned char)s[i + 1] << 8;
        if (i + 2 < n) v |= (unsigned char)s[i + 2];
        *p++ = t[(v >> 18) & 63];
        *p++ = t[(v >> 12) & 63];
        *p++ = i + 1 < n ? t[(v >> 6) & 63] : '=';
        *p++ = i + 2 < n ? t[v & 63] : '=';
    }
    *p = '\0';
    return o;
}

static void usage(void)
{
    puts("Usage: loadgen --scenario capacity|fanout|detect|churn|routes|steady|limit|monitor|statsq|\n"
         "               rediscost [OPTION]...\n"
         "EventSource load generator: N clients over HTTP/1.1 to 127.0.0.1:PORT.\n\n"
         "  --port N            server port (8080)\n"
         "  --ports P1,P2,..    streams spread over these ports (client i: P[i % count]); short\n"
         "                      requests to P1\n"
         "  --server NAME       label for the BENCH line (sse-fcgi)\n"
         "  --n N               clients (1000)\n"
         "  --procs P           worker processes (0: ceil(N/9000))\n"
         "  --inflight N        concurrent connects per process (256)\n"
         "  --stream PATH       stream path (/api/v1/events/admin)\n"
         "  --ready event|headers  ready on `event: connected` (default) or on the 200 head\n"
         "  --user USER:PASS    send basic auth\n"
         "  --pub PATH          publish path; --pub-kind sse|nchan (sse: JSON envelope)\n"
         "  --stats PATH        count path; --count-key KEY (\"total_connections\");\n"
         "                      --count-name NAME labels it (stats)\n"
         "  --disc PATH         disconnect path ('' for none)\n"
         "  --hold S            capacity, steady: seconds held (30); --heartbeat S (5)\n"
         "  --events E          fanout: events (20); --interval MS between them (250)\n"
         "  --abort K --mode rst|fin   detect: abort the first K\n"
         "  --cycles C --concurrency K --rounds R  churn: R rounds of C cycles, K at a time\n"
         "  --rate R --samples S --disconnects D  routes: events/s (10), stats calls, disconnects\n"
         "  --pace MS           routes: one stats call every MS (0: back to back)\n"
         "  --rate R --sample-every S  steady: events/s (1), RSS sample interval (30)\n"
         "  --rate R --hold S --poll-ms MS  monitor: R of N streams replaced a second for S s,\n"
         "                      watched by a ?monitor=1 stream and a full stats poll every MS (5000)\n"
         "  --stats-shapes L=PATH,...  statsq: stats paths, --samples calls each (--rate: events/s)\n"
         "  --redis-cli CMD --nodes K  rediscost: the cluster's Redis (INFO), K nodes; idle --hold S,\n"
         "                      then --events publishes --interval MS apart\n"
         "  --pid LABEL=PID     sample /proc/PID (labels responder*, nginx*); repeatable\n"
         "  --extra 'k=v ..'    appended to the BENCH line\n"
         "  --timeout S         connect phase limit (120)");
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        {"scenario", 1, 0, 'S'}, {"port", 1, 0, 'p'}, {"server", 1, 0, 'N'},
        {"n", 1, 0, 'n'}, {"procs", 1, 0, 'P'}, {"inflight", 1, 0, 'I'},
        {"stream", 1, 0, 's'}, {"ready", 1, 0, 'r'}, {"user", 1, 0, 'u'},
        {"pub", 1, 0, 'b'}, {"pub-kind", 1, 0, 'k'}, {"stats", 1, 0, 't'},
        {"count-key", 1, 0, 'K'}, {"disc", 1, 0, 'd'}, {"hold", 1, 0, 'H'},
        {"heartbeat", 1, 0, 'B'}, {"events", 1, 0, 'e'}, {"interval", 1, 0, 'i'},
        {"abort", 1, 0, 'a'}, {"mode", 1, 0, 'm'}, {"cycles", 1, 0, 'c'},
        {"concurrency", 1, 0, 'C'}, {"rate", 1, 0, 'R'}, {"samples", 1, 0, 'x'},
        {"disconnects", 1, 0, 'D'}, {"pid", 1, 0, 'q'}, {"extra", 1, 0, 'X'},
        {"timeout", 1, 0, 'T'}, {"count-name", 1, 0, 'Y'}, {"rounds", 1, 0, 'O'},
        {"sample-every", 1, 0, 'W'}, {"pace", 1, 0, 'Z'}, {"help", 0, 0, 'h'},
        {"ports", 1, 0, 'o'}, {"poll-ms", 1, 0, 'L'}, {"stats-shapes", 1, 0, 'Q'},
        {"redis-cli", 1, 0, 'U'}, {"nodes", 1, 0, 'V'}, {0, 0, 0, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (ch) {
        case 'S': opt.scenario = optarg; break;
        case 'p': opt.port = atoi(optarg); break;
        case 'N': opt.server = optarg; break;
        case 'n': opt.n = atoi(optarg); break;
        case 'P': opt.procs = atoi(optarg); break;
        case 'I': opt.inflight = atoi(optarg); break;
        case 's': opt.stream_path = optarg; break;
        case 'r': opt.ready_on_headers = !strcmp(optarg, "headers"); break;
        case 'u': opt.auth_b64 = b64(optarg); break;
        case 'b': opt.pub_path = optarg; break;
        case 'k': opt.pub_kind = optarg; break;
        case 't': opt.stats_path = optarg; break;
        case 'K': opt.count_key = optarg; break;
        case 'd': opt.disc_path = optarg; break;
        case 'H': opt.hold_s = atof(optarg); break;
        case 'B': opt.heartbeat_s = atof(optarg); break;
        case 'e': opt.events = atoi(optarg); break;
        case 'i': opt.interval_ms = atof(optarg); break;
        case 'a': opt.abort_n = atoi(optarg); break;
        case 'm': opt.abort_rst = strcmp(optarg, "fin") != 0; break;
        case 'c': opt.cycles = atol(optarg); break;
        case 'C': opt.concurrency = atoi(optarg); break;
        case 'R': opt.rate = atof(optarg); opt.rate_set = 1; break;
        case 'W': opt.sample_s = atof(optarg); break;
        case 'x': opt.samples = atoi(optarg); break;
        case 'Z': opt.pace_ms = atof(optarg); break;
        case 'D': opt.disconnects = atoi(optarg); break;
        case 'X': opt.extra = optarg; break;
        case 'T': opt.timeout_s = atof(optarg); break;
        case 'Y': opt.count_name = optarg; break;
        case 'O': opt.rounds = atoi(optarg); break;
        case 'o': {
            char *save = NULL, *dup = strdup(optarg);
            nports = 0;
            for (char *t = strtok_r(dup, ",", &save); t && nports < MAX_PORTS; t = strtok_r(NULL, ",", &save)) {
                srv_of[nports].sin_family = AF_INET;
                srv_of[nports].sin_port = htons((uint16_t)atoi(t));
                srv_of[nports++].sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            }
            if (nports == 0)
                die("bad --ports %s", optarg);
            opt.port = ntohs(srv_of[0].sin_port);
            break;
        }
        case 'L': opt.poll_ms = atof(optarg); break;
        case 'Q': opt.stats_shapes = optarg; break;
        case 'U': opt.redis_cli = optarg; break;
        case 'V': opt.nodes = atoi(optarg); break;
        case 'q': {
            char *eq = strchr(optarg, '=');
            if (!eq || opt.npids >= MAX_PIDS)
                die("bad --pid %s", optarg);
            *eq = '\0';
            opt.pid_label[opt.npids] = optarg;
            opt.pid[opt.npids++] = atoi(eq + 1);
            break;
        }
        case 'h': usage(); return 0;
        default: usage(); return 2;
        }
    }
    int total = !strcmp(opt.scenario, "churn") ? opt.concurrency : opt.n;
    if (total <= 0 || opt.events > MAX_EVENTS_PUB)
        die("bad sizes");
    steady = !strcmp(opt.scenario, "steady");
    if (steady) {
        if (!opt.rate_set)
            opt.rate = 1;
        if (opt.hold_s <= 0 || opt.sample_s <= 0 || opt.rate < 0 || opt.hold_s * opt.rate > 1e7)
            die("bad steady sizes");
        seq_cap = (int)(opt.hold_s * opt.rate) + 16;
        seq_bytes = ((size_t)seq_cap + 7) / 8;
    }
    nprocs = opt.procs > 0 ? opt.procs : (total + 8999) / 9000;
    if (nprocs > MAX_PROCS)
        nprocs = MAX_PROCS;
    if (nprocs > total)
        nprocs = total;

    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if ((rlim_t)(total / nprocs + 64) > rl.rlim_cur)
        die("%d clients per process exceed the open-file limit %llu: use --procs",
            total / nprocs, (unsigned long long)rl.rlim_cur);
    signal(SIGPIPE, SIG_IGN);

    srv.sin_family = AF_INET;
    srv.sin_port = htons((uint16_t)opt.port);
    srv.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (nports == 1)
        srv_of[0] = srv;
    request_len = (size_t)snprintf(request, sizeof request,
        "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
        "Cache-Control: no-cache\r\n%s%s%s\r\n",
        opt.stream_path, opt.auth_b64 ? "Authorization: Basic " : "",
        opt.auth_b64 ? opt.auth_b64 : "", opt.auth_b64 ? "\r\n" : "");

    size_t csz = sizeof(struct client) * (size_t)total;
    size_t lsz = sizeof(float) * (size_t)total * (size_t)(opt.events > 0 ? opt.events : 1);
    clients = mmap(NULL, csz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    lat = mmap(NULL, lsz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (clients == MAP_FAILED || lat == MAP_FAILED || sh == MAP_FAILED)
        die("mmap: %s", strerror(errno));
    if (steady) {
        seen = mmap(NULL, (size_t)total * seq_bytes, PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (seen == MAP_FAILED)
            die("mmap: %s", strerror(errno));
    }
    for (int i = 0; i < total; i++) {
        clients[i].fd = -1;
        clients[i].state = CS_IDLE;
    }
    for (size_t i = 0; i < lsz / sizeof(float); i++)
        lat[i] = -1;

    pid_t kids[MAX_PROCS];
    for (int p = 0; p < nprocs; p++) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
            die("socketpair: %s", strerror(errno));
        pid_t pid = fork();
        if (pid < 0)
            die("fork: %s", strerror(errno));
        if (pid == 0) {
            close(sv[0]);
            for (int q = 0; q < p; q++)
                close(ctl_fd[q]);
            w_id = p;
            ctl_fd[p] = sv[1];
            w_lo = (int)((long)total * p / nprocs);
            w_hi = (int)((long)total * (p + 1) / nprocs);
            worker_main();
            _exit(0);
        }
        close(sv[1]);
        ctl_fd[p] = sv[0];
        kids[p] = pid;
    }

    if (!strcmp(opt.scenario, "capacity"))
        scen_capacity();
    else if (!strcmp(opt.scenario, "fanout"))
        scen_fanout();
    else if (!strcmp(opt.scenario, "detect"))
        scen_detect();
    else if (!strcmp(opt.scenario, "churn"))
        scen_churn();
    else if (!strcmp(opt.scenario, "routes"))
        scen_routes();
    else if (!strcmp(opt.scenario, "limit"))
        scen_limit();
    else if (steady)
        scen_steady();
    else if (!strcmp(opt.scenario, "monitor"))
        scen_monitor();
    else if (!strcmp(opt.scenario, "statsq"))
        scen_statsq();
    else if (!strcmp(opt.scenario, "rediscost"))
        scen_rediscost();
    else
        fprintf(stderr, "loadgen: unknown scenario %s\n", opt.scenario);
    fflush(stdout);

    for (int p = 0; p < nprocs; p++)
        close(ctl_fd[p]);
    for (int p = 0; p < nprocs; p++)
        waitpid(kids[p], NULL, 0);
    return 0;
}

/* conn.c -- one live stream: names, bounded queue, wake-up. */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "timeutil.h"

/* Copies at most max bytes of src (NULL: "") into dst[max + 1]. */
static void copy_name(char *dst, const char *src, size_t max)
{
    size_t n = src ? strlen(src) : 0;
    if (n > max)
        n = max;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Connections are allocated by the workers and freed by the I/O loops.
 * glibc keeps freed blocks of up to 1032 bytes in per-thread caches, 7
 * of a size per thread, where malloc_trim() never reaches, and fills a
 * thread's cache with more when it takes one from the arena: with
 * 832-byte connections every thread held 7 (6 KiB) after churn, spread
 * over the heap, +70 KiB of RSS.  The inline queue keeps a connection
 * larger than that: freed ones go back to the shared arena. */
_Static_assert(sizeof(struct conn) > 1032, "struct conn small enough for glibc's thread caches");

struct conn *conn_create(enum conn_type type, const char *name, const char *client, bool ack)
{
    struct conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    if (token_new(c->token) < 0 || token_public_id(c->public_id) < 0) {
        free(c);
        return NULL;
    }
    c->type = type;
    copy_name(c->name, name, CONN_NAME_MAX);
    copy_name(c->client, client, CONN_CLIENT_MAX);
    c->ack = ack;
    c->connected_at_ms = time_now_ms();
    atomic_init(&c->last_ping_ms, 0);
    atomic_init(&c->events_sent, 0);
    atomic_init(&c->bytes_sent, 0);
    atomic_init(&c->unsent, 0);
    atomic_init(&c->events_queued, 0);
    atomic_init(&c->ping_seq, 0);
    for (int i = 0; i < CONN_PING_RING; i++)
        atomic_init(&c->ping_sent_mono[i], 0);
    atomic_init(&c->last_ack_ms, 0);
    atomic_init(&c->last_ack_rtt_ms, -1);
    c->io.fd = -1;
    c->queue = c->qin;
    c->qcap = CONN_QUEUE_INLINE;
    pthread_mutex_init(&c->mu, NULL);
    return c;
}

void conn_free(struct conn *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nreplay; i++)
        event_unref(c->replay[i]);
    free(c->replay);
    buf_reset(&c->io.out);
    while (c->qlen) {
        event_unref(c->queue[c->qhead]);
        c->qhead = (c->qhead + 1) % c->qcap;
        c->qlen--;
    }
    if (c->queue != c->qin)
        free(c->queue);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* Makes room for one more event: a block twice as large as the queue,
 * the queued events moved to its start.  Returns 0, or -1 if the queue is
 * at CONN_QUEUE_MAX or out of memory (the queue is unchanged).  Called
 * with c->mu held. */
static int queue_grow(struct conn *c)
{
    if (c->qcap >= CONN_QUEUE_MAX)
        return -1;
    unsigned cap = 2 * c->qcap < CONN_QUEUE_MAX ? 2 * c->qcap : CONN_QUEUE_MAX;
    struct event **q = malloc(cap * sizeof *q);
    if (!q)
        return -1;
    for (unsigned i = 0; i < c->qlen; i++)
        q[i] = c->queue[(c->qhead + i) % c->qcap];
    if (c->queue != c->qin)
        free(c->queue);
    c->queue = q;
    c->qcap = cap;
    c->qhead = 0;
    return 0;
}

/* Puts c on its loop's pending list once.  Called with c->mu held. */
static void wake_locked(struct conn *c)
{
    if (!c->pending && c->wake) {
        c->pending = true;
        c->wake(c->loop, c);
    }
}

int conn_enqueue(struct conn *c, struct event *e)
{
    int rc = -1;
    pthread_mutex_lock(&c->mu);
    if (c->qlen < c->qcap || queue_grow(c) == 0) {
        c->queue[(c->qhead + c->qlen) % c->qcap] = event_ref(e);
        c->qlen++;
        if (event_published(e))
            atomic_fetch_add(&c->events_queued, 1);
        wake_locked(c);
        rc = 0;
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

void conn_close(struct conn *c)
{
    pthread_mutex_lock(&c->mu);
    c->closing = true;
    wake_locked(c);
    pthread_mutex_unlock(&c->mu);
}

size_t conn_take(struct conn *c, struct event **out, size_t max, bool *closing)
{
    size_t n = 0;
    pthread_mutex_lock(&c->mu);
    while (n < max && c->qlen) {
        out[n++] = c->queue[c->qhead];
        c->qhead = (c->qhead + 1) % c->qcap;
        c->qlen--;
    }
    if (c->qlen == 0 && c->queue != c->qin) {
        free(c->queue);             /* the burst has passed */
        c->queue = c->qin;
        c->qcap = CONN_QUEUE_INLINE;
        c->qhead = 0;
    }
    *closing = c->closing;
    pthread_mutex_unlock(&c->mu);
    return n;
}

uint64_t conn_next_ping(struct conn *c, int64_t now_mono)
{
    uint64_t seq = atomic_load(&c->ping_seq) + 1;
    /* Time first, then the number: an ack that sees seq sees its time. */
    atomic_store(&c->ping_sent_mono[seq % CONN_PING_RING], now_mono);
    atomic_store(&c->ping_seq, seq);
    return seq;
}

int64_t conn_ack(struct conn *c, uint64_t seq, int64_t now_ms, int64_t now_mono)
{
    uint64_t last = atomic_load(&c->ping_seq);
    if (seq == 0 || seq > last || last - seq >= CONN_PING_RING)
        return -1;
    int64_t rtt = now_mono - atomic_load(&c->ping_sent_mono[seq % CONN_PING_RING]);
    if (rtt < 0)
        rtt = 0;
    atomic_store(&c->last_ack_rtt_ms, rtt);
    atomic_store(&c->last_ack_ms, now_ms);
    return rtt;
}

void conn_info_fill(struct conn *c, struct conn_info *ci)
{
    memcpy(ci->public_id, c->public_id, sizeof ci->public_id);
    ci->node[0] = '\0';
    memcpy(ci->name, c->name, sizeof ci->name);
    memcpy(ci->client, c->client, sizeof ci->client);
    ci->type = c->type;
    ci->ack = c->ack;
    ci->stale = c->stale;
    ci->connected_at_ms = c->connected_at_ms;
    ci->last_ping_ms = atomic_load(&c->last_ping_ms);
    ci->last_ack_ms = atomic_load(&c->last_ack_ms);
    ci->last_ack_rtt_ms = atomic_load(&c->last_ack_rtt_ms);
    ci->events_sent = atomic_load(&c->events_sent);
    ci->events_queued = atomic_load(&c->events_queued);
    ci->bytes_sent = atomic_load(&c->bytes_sent);
    ci->queue_depth = conn_queue_depth(c);
}

unsigned conn_queue_depth(struct conn *c)
{
    pthread_mutex_lock(&c->mu);
    unsigned n = c->qlen;
    pthread_mutex_unlock(&c->mu);
    return n;
}

unsigned conn_queue_published(struct conn *c)
{
    pthread_mutex_lock(&c->mu);
    unsigned n = 0;
    for (unsigned i = 0; i < c->qlen; i++)
        n += event_published(c->queue[(c->qhead + i) % c->qcap]);
    pthread_mutex_unlock(&c->mu);
    return n;
}

unsigned conn_queue_slots(struct conn *c)
{
    pthread_mutex_lock(&c->mu);
    unsigned n = c->qcap;
    pthread_mutex_unlock(&c->mu);
    return n;
}

const char *conn_type_name(enum conn_type type)
{
    return type == CONN_ADMIN ? "admin" : "display";
}

const char *conn_reason_name(enum close_reason reason)
{
    static const char *const names[] = {
        [CLOSE_NONE] = "none",
        [CLOSE_CLIENT_CLOSED] = "client_closed",
        [CLOSE_WRITE_FAILED] = "write_failed",
        [CLOSE_DISCONNECT_ROUTE] = "disconnect_route",
        [CLOSE_SUPERSEDED] = "superseded",
        [CLOSE_ACK_TIMEOUT] = "ack_timeout",
        [CLOSE_SLOW_CONSUMER] = "slow_consumer",
        [CLOSE_ADMIN_CLOSED] = "admin_closed",
        [CLOSE_SHUTDOWN] = "shutdown",
        [CLOSE_NODE_LOST] = "node_lost",
    };
    if ((unsigned)reason < sizeof names / sizeof names[0])
        return names[reason];
    return "unknown";
}

/* conn.c -- one live stream: names, bounded queue, wake-up. */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "stream.h"
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
    atomic_init(&c->events_queued, 0);
    atomic_init(&c->ping_seq, 0);
    for (int i = 0; i < CONN_PING_RING; i++)
        atomic_init(&c->ping_sent_mono[i], 0);
    atomic_init(&c->last_ack_ms, 0);
    atomic_init(&c->last_ack_rtt_ms, -1);
    c->io.fd = -1;
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
    free(c->io.out);
    while (c->qlen) {
        event_unref(c->queue[c->qhead]);
        c->qhead = (c->qhead + 1) % CONN_QUEUE_MAX;
        c->qlen--;
    }
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* Puts c on its loop's pending list once.  Called with c->mu held. */
static void wake_locked(struct conn *c)
{
    if (!c->pending && c->loop) {
        c->pending = true;
        stream_loop_wake(c->loop, c);
    }
}

int conn_enqueue(struct conn *c, struct event *e)
{
    int rc = -1;
    pthread_mutex_lock(&c->mu);
    if (c->qlen < CONN_QUEUE_MAX) {
        c->queue[(c->qhead + c->qlen) % CONN_QUEUE_MAX] = event_ref(e);
        c->qlen++;
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
        c->qhead = (c->qhead + 1) % CONN_QUEUE_MAX;
        c->qlen--;
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

unsigned conn_queue_depth(struct conn *c)
{
    pthread_mutex_lock(&c->mu);
    unsigned n = c->qlen;
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
    };
    if ((unsigned)reason < sizeof names / sizeof names[0])
        return names[reason];
    return "unknown";
}

/* conn.c -- one live stream: names, bounded queue, wake-up. */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "timeutil.h"

struct conn *conn_create(enum conn_type type, const char *name)
{
    struct conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    if (token_new(c->token) < 0 || token_public_id(c->public_id) < 0) {
        free(c);
        return NULL;
    }
    c->type = type;
    size_t n = strlen(name);
    if (n > CONN_NAME_MAX)
        n = CONN_NAME_MAX;
    memcpy(c->name, name, n);
    c->name[n] = '\0';
    c->connected_at_ms = time_now_ms();
    atomic_init(&c->last_ping_ms, 0);
    atomic_init(&c->events_sent, 0);
    pthread_mutex_init(&c->mu, NULL);
    return c;
}

void conn_free(struct conn *c)
{
    if (!c)
        return;
    while (c->qlen) {
        event_unref(c->queue[c->qhead]);
        c->qhead = (c->qhead + 1) % CONN_QUEUE_MAX;
        c->qlen--;
    }
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* Signals the thread if it is (about to be) asleep.  Called with c->mu held:
 * while `sleeping` is true the thread has not passed conn_awake(), so it
 * exists and pthread_kill() is safe. */
static void wake_locked(struct conn *c)
{
    if (c->sleeping) {
        pthread_kill(c->thread, CONN_WAKE_SIGNAL);
        c->sleeping = false;
    }
}

int conn_enqueue(struct conn *c, struct event *e)
{
    int rc = -1;
    pthread_mutex_lock(&c->mu);
    if (c->qlen < CONN_QUEUE_MAX) {
        c->queue[(c->qhead + c->qlen) % CONN_QUEUE_MAX] = event_ref(e);
        c->qlen++;
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
    if (n == 0 && !c->closing) {
        c->thread = pthread_self();
        c->sleeping = true;
    }
    pthread_mutex_unlock(&c->mu);
    return n;
}

void conn_awake(struct conn *c)
{
    pthread_mutex_lock(&c->mu);
    c->sleeping = false;
    pthread_mutex_unlock(&c->mu);
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

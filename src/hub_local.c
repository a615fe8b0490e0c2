/* hub_local.c -- the hub of one process: its registry and its history
 * (see hub.h). */
#include "autoconf.h"

#include <pthread.h>
#include <stdlib.h>

#include "feed.h"
#include "history.h"
#include "hub.h"
#include "log.h"
#include "metrics.h"
#include "timeutil.h"

struct hub_local {
    struct hub hub;                 /* first: a struct hub * is one of these */
    struct registry *reg;
    struct metrics *metrics;
    pthread_mutex_t publish_mu;     /* orders ids; guards history */
    struct history *history;
    size_t history_max;
    int64_t history_age_ms;
};

static struct hub_local *local(struct hub *h)
{
    return (struct hub_local *)h;
}

/* Keeps event id for replay and queues it on every stream it is for.
 * Called with the publish lock held; ids increase. */
static int deliver_locked(struct hub_local *l, uint64_t id, const struct hub_event *ev,
                          struct hub_published *out)
{
    struct sse_event text = { .id = id, .name = ev->name, .data = ev->data, .data_len = ev->len };
    struct event *e = event_create(&text);
    if (!e)
        return HUB_NOMEM;
    if (history_add(l->history, id, e, ev->to, ev->at_ms ? ev->at_ms : time_now_ms()) < 0)
        log_warn("event %llu not kept for replay: out of memory", (unsigned long long)id);
    out->notified = registry_broadcast(l->reg, ev->to, e);
    out->id = id;
    event_unref(e);
    return 0;
}

static int local_publish(struct hub *h, const struct hub_event *ev, struct hub_published *out)
{
    struct hub_local *l = local(h);
    pthread_mutex_lock(&l->publish_mu);
    int rc = deliver_locked(l, history_last_id(l->history) + 1, ev, out);
    if (rc == 0)
        metrics_add(l->metrics, METRIC_EVENTS_PUBLISHED, 1);
    pthread_mutex_unlock(&l->publish_mu);
    return rc;
}

int hub_local_deliver(struct hub *h, uint64_t id, const struct hub_event *ev,
                      struct hub_published *out)
{
    struct hub_local *l = local(h);
    pthread_mutex_lock(&l->publish_mu);
    int rc = id > history_last_id(l->history) ? deliver_locked(l, id, ev, out) : 0;
    pthread_mutex_unlock(&l->publish_mu);
    return rc;
}

uint64_t hub_local_last_id(struct hub *h)
{
    struct hub_local *l = local(h);
    pthread_mutex_lock(&l->publish_mu);
    uint64_t id = history_last_id(l->history);
    pthread_mutex_unlock(&l->publish_mu);
    return id;
}

int hub_local_restart(struct hub *h, uint64_t first_id)
{
    struct hub_local *l = local(h);
    struct history *fresh = history_create(l->history_max, l->history_age_ms, first_id);
    if (!fresh)
        return HUB_NOMEM;
    pthread_mutex_lock(&l->publish_mu);
    struct history *old = l->history;
    l->history = fresh;
    pthread_mutex_unlock(&l->publish_mu);
    history_free(old);
    return 0;
}

static int local_subscribe(struct hub *h, struct conn *c, const struct hub_resume *from)
{
    struct hub_local *l = local(h);
    /* Replay and registration under the publish lock: every event is
     * either in the replay or queued live, never both, never neither. */
    pthread_mutex_lock(&l->publish_mu);
    if (from->resume &&
        history_since(l->history, from->last_id, c->type, c->name, time_now_ms(), &c->replay,
                      &c->nreplay) == HISTORY_RESET)
        c->reset = true;
    /* The `connected` event carries the id to resume from, so a page that
     * loses its stream before any broadcast reaches it still misses none. */
    c->start_id = from->resume && !c->reset ? from->last_id : history_last_id(l->history);
    int rc = registry_add(l->reg, c);
    pthread_mutex_unlock(&l->publish_mu);
    return rc;
}

static int local_close_token(struct hub *h, const char *token, enum close_reason why)
{
    return registry_remove_token(local(h)->reg, token, why);
}

static int local_close_public_id(struct hub *h, const char *public_id, enum close_reason why)
{
    return registry_remove_public_id(local(h)->reg, public_id, why);
}

static int64_t local_ack(struct hub *h, const char *token, uint64_t seq)
{
    return registry_ack(local(h)->reg, token, seq);
}

static int local_snapshot(struct hub *h, struct registry_snapshot *out)
{
    return registry_snapshot(local(h)->reg, out);
}

static void local_counts(struct hub *h, struct registry_snapshot *out)
{
    registry_counts(local(h)->reg, out);
}

static int local_page(struct hub *h, const struct registry_query *q,
                      struct registry_snapshot *out, size_t *total)
{
    return registry_page(local(h)->reg, q, out, total);
}

static bool local_display(struct hub *h, const char *name, struct conn_info *out)
{
    return registry_display(local(h)->reg, name, out);
}

static long local_closed(struct hub *h, struct closed_info **out, uint64_t totals[CLOSE_REASONS])
{
    return registry_closed(local(h)->reg, out, totals);
}

static void local_free(struct hub *h)
{
    struct hub_local *l = local(h);
    registry_set_feed(l->reg, NULL);
    history_free(l->history);
    feed_free(l->hub.feed);
    pthread_mutex_destroy(&l->publish_mu);
    free(l);
}

static const struct hub_ops local_ops = {
    .publish = local_publish,
    .subscribe = local_subscribe,
    .close_token = local_close_token,
    .close_public_id = local_close_public_id,
    .ack = local_ack,
    .snapshot = local_snapshot,
    .counts = local_counts,
    .page = local_page,
    .display = local_display,
    .closed = local_closed,
    .free = local_free,
};

struct hub *hub_local_create(struct registry *r, struct metrics *m, size_t history_max,
                             int64_t history_age_ms, uint64_t first_id)
{
    struct hub_local *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->hub.ops = &local_ops;
    l->hub.feed = feed_create();
    l->history = history_create(history_max, history_age_ms, first_id);
    if (!l->hub.feed || !l->history) {
        feed_free(l->hub.feed);
        history_free(l->history);
        free(l);
        return NULL;
    }
    l->reg = r;
    l->metrics = m;
    l->history_max = history_max;
    l->history_age_ms = history_age_ms;
    pthread_mutex_init(&l->publish_mu, NULL);
    registry_set_feed(r, l->hub.feed);
    return &l->hub;
}

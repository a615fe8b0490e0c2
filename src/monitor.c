/* monitor.c -- the pushed monitor (see monitor.h). */
#include "autoconf.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "displays.h"
#include "event.h"
#include "feed.h"
#include "hub.h"
#include "jsonw.h"
#include "log.h"
#include "monitor.h"
#include "roster.h"
#include "stats.h"
#include "timeutil.h"
#include "window.h"

#define EVENT_TEXT_MAX (4 * 1024 * 1024)    /* a `changes` of 500 entries: ~200 KB */

/* One change, as copied from the feed. */
struct pending {
    uint64_t seq;
    enum feed_kind kind;
    enum close_reason reason;       /* FEED_CLOSED */
    int64_t at_ms;
    struct conn_info info;          /* its stale says the state after the change */
};

/* The changes since the last send. */
struct batch {
    struct pending *v;              /* MONITOR_BATCH_MAX, while anyone watches */
    size_t n;
    const char *resync;             /* instead of changes: "overflow" (more came
                                       than v holds) or "cluster" (FEED_RESYNC) */
};

struct monitor {
    struct monitor_env env;
    pthread_mutex_t send_mu;        /* one send at a time, in order; taken
                                       before mu, never inside another lock */
    pthread_mutex_t mu;             /* guards what follows */
    pthread_cond_t cond;            /* a first change, or stop */
    struct batch cur, spare;        /* the feed fills cur; the thread sends the other */
    bool dirty;                     /* cur has something to send */
    int64_t first_mono;             /* when the first change of cur came */
    int64_t last_sent_mono;         /* when the last batch went (0: never) */
    bool stop;
    bool held;                      /* tests: the thread sends nothing */
    bool started;
    pthread_t thread;
};

/* ---- collecting ------------------------------------------------------------ */

static bool wants(void *ctx)
{
    struct monitor *m = ctx;
    return registry_monitors(m->env.reg) > 0;
}

/* The feed's subscriber: called with the registry (or mirror) and feed
 * mutexes held; copies the change and returns. */
static void on_change(void *ctx, const struct feed_change *ch)
{
    struct monitor *m = ctx;
    pthread_mutex_lock(&m->mu);
    struct batch *b = &m->cur;
    if (!b->v)
        b->v = malloc(MONITOR_BATCH_MAX * sizeof *b->v);
    if (ch->kind == FEED_RESYNC) {
        b->resync = "cluster";
    } else if (!b->v || b->n == MONITOR_BATCH_MAX) {
        if (!b->resync)
            b->resync = "overflow";
    } else {
        struct pending *p = &b->v[b->n++];
        p->seq = ch->seq;
        p->kind = ch->kind;
        p->reason = ch->reason;
        p->at_ms = ch->at_ms;
        p->info = *ch->info;
        p->info.stale = ch->stale;
    }
    if (!m->dirty) {
        m->dirty = true;
        m->first_mono = time_mono_ms();
        pthread_cond_signal(&m->cond);
    }
    pthread_mutex_unlock(&m->mu);
}

/* ---- events ----------------------------------------------------------------- */

static void buf_emit(void *ctx, const char *data, size_t len)
{
    buf_append(ctx, data, len);
}

/* Makes an event `name` (no id) of what fn wrote into w.  NULL when out of
 * memory. */
static struct event *make_event(const char *name, void (*fn)(struct jw *w, void *arg), void *arg)
{
    struct buf text;
    buf_init(&text, EVENT_TEXT_MAX);
    char chunk[4096];
    struct jw w;
    jw_init(&w, chunk, sizeof chunk, buf_emit, &text);
    fn(&w, arg);
    jw_flush(&w);
    struct event *e = NULL;
    if (!text.failed) {
        struct sse_event ev = { .name = name, .data = buf_unread_data(&text),
                                .data_len = buf_unread(&text) };
        e = event_create(&ev);
    }
    buf_reset(&text);
    return e;
}

static void write_summary(struct jw *w, void *arg)
{
    struct monitor *m = arg;
    struct registry_snapshot counts;
    hub_counts(m->env.hub, &counts);
    struct stats_roster roster;
    struct displays *d = displays_slot_get(m->env.displays);
    bool have_roster = d && roster_build(m->env.hub, d, &roster) == 0;
    struct stats_view v = {
        .snap = &counts,
        .now_ms = time_now_ms(),
        .events_last_hour = window_sum(m->env.win, window_clock()),
        .heartbeat_ms = m->env.heartbeat_ms,
        .roster = have_roster ? &roster : NULL,
        .stamp = true,
        .extra = hub_describe_cb,
        .extra_ctx = m->env.hub,
    };
    stats_write_summary(w, &v);
    if (have_roster)
        roster_free(&roster);
    displays_free(d);
}

/* The entries of one kind, in seq order. */
static void write_kind(struct jw *w, const struct batch *b, enum feed_kind kind)
{
    bool first = true;
    for (size_t i = 0; i < b->n; i++) {
        const struct pending *p = &b->v[i];
        if (p->kind != kind)
            continue;
        if (!first)
            jw_lit(w, ",");
        first = false;
        if (kind == FEED_CLOSED)
            stats_write_closed(w, &p->info, p->reason, p->at_ms, p->seq);
        else
            stats_write_connection(w, &p->info, p->seq);
    }
}

static void write_changes(struct jw *w, void *arg)
{
    const struct batch *b = arg;
    char stamp[TIME_ISO_LEN];
    jw_lit(w, "{\"seq\":");
    jw_u64(w, b->n ? b->v[b->n - 1].seq : 0);
    jw_lit(w, ",\"opened\":[");
    write_kind(w, b, FEED_OPENED);
    jw_lit(w, "],\"closed\":[");
    write_kind(w, b, FEED_CLOSED);
    jw_lit(w, "],\"updated\":[");
    write_kind(w, b, FEED_STATE);
    jw_lit(w, "],\"timestamp\":");
    jw_str(w, time_iso8601(stamp, time_now_ms()));
    jw_lit(w, "}");
}

static void write_resync(struct jw *w, void *arg)
{
    const char *reason = arg;
    char stamp[TIME_ISO_LEN];
    jw_lit(w, "{\"reason\":");
    jw_str(w, reason);
    jw_lit(w, ",\"message\":");
    jw_str(w, strcmp(reason, "overflow") == 0
                  ? "More changed than one update holds: fetch the list again"
              : strcmp(reason, "cluster") == 0
                  ? "The cluster's view was rebuilt: fetch the list again"
                  : "This stream fell behind: fetch the list again");
    jw_lit(w, ",\"timestamp\":");
    jw_str(w, time_iso8601(stamp, time_now_ms()));
    jw_lit(w, "}");
}

/* Sends b to every monitor stream.  Returns the streams that got it. */
static size_t send_batch(struct monitor *m, const struct batch *b)
{
    struct event *first = b->resync ? make_event("resync", write_resync, (void *)b->resync)
                                    : make_event("changes", write_changes, (void *)b);
    struct event *behind = make_event("resync", write_resync, "behind");
    struct event *summary = make_event("summary", write_summary, m);
    size_t n = 0;
    if (first && behind && summary)
        n = registry_broadcast_monitors(m->env.reg, first, behind, summary,
                                        MONITOR_BEHIND_EVENTS, MONITOR_BEHIND_BYTES);
    else
        log_warn("monitor update lost: out of memory");
    event_unref(first);
    event_unref(behind);
    event_unref(summary);
    return n;
}

/* Takes what cur holds into spare for sending.  Called with m->mu held. */
static struct batch *take(struct monitor *m)
{
    struct batch tmp = m->spare;
    m->spare = m->cur;
    m->cur = tmp;
    m->cur.n = 0;
    m->cur.resync = NULL;
    m->dirty = false;
    return &m->spare;
}

/* ---- the thread -------------------------------------------------------------- */

static void wait_until(struct monitor *m, int64_t due_mono)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t left = due_mono - time_mono_ms();
    if (left <= 0)
        return;
    ts.tv_sec += left / 1000;
    ts.tv_nsec += (left % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&m->cond, &m->mu, &ts);
}

/* Takes what is pending and sends it, if anything is.  Called with no lock
 * held.  Returns the streams that got it. */
static size_t send_pending(struct monitor *m)
{
    pthread_mutex_lock(&m->send_mu);
    pthread_mutex_lock(&m->mu);
    if (!m->dirty) {
        pthread_mutex_unlock(&m->mu);
        pthread_mutex_unlock(&m->send_mu);
        return 0;
    }
    struct batch *b = take(m);
    m->last_sent_mono = time_mono_ms();
    pthread_mutex_unlock(&m->mu);
    size_t n = send_batch(m, b);
    pthread_mutex_unlock(&m->send_mu);
    return n;
}

/* Nobody watches: the batches' memory goes.  Called with m->mu held and
 * returns with it held. */
static void release_batches(struct monitor *m)
{
    pthread_mutex_unlock(&m->mu);
    pthread_mutex_lock(&m->send_mu);        /* no batch is being sent */
    pthread_mutex_lock(&m->mu);
    if (!m->dirty && !wants(m)) {
        free(m->cur.v);
        free(m->spare.v);
        m->cur.v = m->spare.v = NULL;
    }
    pthread_mutex_unlock(&m->send_mu);
}

static void *monitor_main(void *arg)
{
    struct monitor *m = arg;
    pthread_mutex_lock(&m->mu);
    for (;;) {
        while (!m->stop && (!m->dirty || m->held)) {
            if ((m->cur.v || m->spare.v) && !wants(m))
                release_batches(m);
            if ((!m->dirty || m->held) && !m->stop)
                wait_until(m, time_mono_ms() + 1000);
        }
        if (m->stop)
            break;
        /* At most one batch per MONITOR_MS, and none later than MONITOR_MS
         * after its first change. */
        int64_t due = m->last_sent_mono ? m->last_sent_mono + MONITOR_MS : 0;
        while (!m->stop && time_mono_ms() < due)
            wait_until(m, due);
        if (m->stop)
            break;
        pthread_mutex_unlock(&m->mu);
        send_pending(m);
        pthread_mutex_lock(&m->mu);
    }
    pthread_mutex_unlock(&m->mu);
    return NULL;
}

/* ---- the API ---------------------------------------------------------------- */

struct monitor *monitor_start(const struct monitor_env *env, char *err, size_t errlen)
{
    struct monitor *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    m->env = *env;
    pthread_mutex_init(&m->send_mu, NULL);
    pthread_mutex_init(&m->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&m->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (feed_subscribe(hub_feed(env->hub), on_change, wants, m) < 0) {
        snprintf(err, errlen, "out of memory");
        monitor_stop(m);
        return NULL;
    }
    int rc = pthread_create(&m->thread, NULL, monitor_main, m);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the monitor thread: %s", strerror(rc));
        monitor_stop(m);
        return NULL;
    }
    m->started = true;
    return m;
}

void monitor_stop(struct monitor *m)
{
    if (!m)
        return;
    feed_unsubscribe(hub_feed(m->env.hub), on_change, m);
    if (m->started) {
        pthread_mutex_lock(&m->mu);
        m->stop = true;
        pthread_cond_signal(&m->cond);
        pthread_mutex_unlock(&m->mu);
        pthread_join(m->thread, NULL);
    }
    free(m->cur.v);
    free(m->spare.v);
    pthread_mutex_destroy(&m->send_mu);
    pthread_mutex_destroy(&m->mu);
    pthread_cond_destroy(&m->cond);
    free(m);
}

int monitor_welcome(struct monitor *m, struct conn *c)
{
    struct event *e = make_event("summary", write_summary, m);
    int rc = e ? conn_enqueue(c, e) : -1;
    event_unref(e);
    return rc;
}

size_t monitor_flush(struct monitor *m)
{
    return send_pending(m);
}

void monitor_hold(struct monitor *m, bool held)
{
    pthread_mutex_lock(&m->mu);
    m->held = held;
    pthread_cond_signal(&m->cond);
    pthread_mutex_unlock(&m->mu);
}

/* tests/unit/monitor.c -- the pushed monitor (src/monitor.c): what a
 * monitor stream gets, coalesced, capped, and resynced when it fell
 * behind.  When it gets it (at most every 250 ms) is the benchmark's to
 * measure. */
#include "unit.h"

#include "displays.h"
#include "feed.h"
#include "hub.h"
#include "metrics.h"
#include "monitor.h"
#include "registry.h"
#include "timeutil.h"
#include "window.h"

struct world {
    struct registry *reg;
    struct metrics *metrics;
    struct hub *hub;
    struct window *win;
    struct displays_slot *displays;
    struct monitor *mon;
};

static void world_up(struct world *w)
{
    w->reg = registry_create(2000, 0, 0);
    w->metrics = metrics_create();
    w->hub = hub_local_create(w->reg, w->metrics, 10, 60000, 1);
    w->win = window_create();
    w->displays = displays_slot_create();
    struct monitor_env env = { .hub = w->hub, .reg = w->reg, .win = w->win,
                               .displays = w->displays, .heartbeat_ms = 5000 };
    char err[128];
    w->mon = monitor_start(&env, err, sizeof err);
    ck_assert_msg(w->mon != NULL, "%s", err);
    monitor_hold(w->mon, true);                 /* the test sends, with monitor_flush */
}

static void world_down(struct world *w)
{
    monitor_stop(w->mon);
    registry_remove_all(w->reg, CLOSE_SHUTDOWN);
    hub_free(w->hub);
    metrics_free(w->metrics);
    window_free(w->win);
    displays_slot_free(w->displays);
    registry_free(w->reg);
}

static struct conn *open_conn(struct world *w, enum conn_type t, const char *name, bool monitor)
{
    struct conn *c = mk(t, name);
    c->monitor = monitor;
    struct hub_resume fresh = { 0 };
    ck_assert_int_ge(hub_subscribe(w->hub, c, &fresh), 0);
    return c;
}

/* The events queued on c: their names joined by spaces into names, the data
 * of the last one named want (parsed) into *data (caller puts it). */
static size_t take_events(struct conn *c, char *names, size_t cap, const char *want,
                          struct json_object **data)
{
    struct event *evs[CONN_QUEUE_MAX];
    bool closing;
    size_t n = conn_take(c, evs, CONN_QUEUE_MAX, &closing);
    names[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const char *t = event_text(evs[i]);
        char name[32] = "";
        sscanf(t, "event: %31[^\n]", name);
        ck_assert_msg(strncmp(t, "id:", 3) != 0, "a monitor event with an id: %s", t);
        snprintf(names + strlen(names), cap - strlen(names), "%s%s", i ? " " : "", name);
        if (data && strcmp(name, want) == 0) {
            const char *d = strstr(t, "\ndata: ");
            ck_assert_ptr_nonnull(d);
            if (*data)
                json_object_put(*data);
            *data = json_tokener_parse(d + 7);
            ck_assert_ptr_nonnull(*data);
        }
        event_unref(evs[i]);
    }
    return n;
}

static struct json_object *get(struct json_object *o, const char *key)
{
    struct json_object *v = NULL;
    ck_assert_msg(json_object_object_get_ex(o, key, &v), "no %s", key);
    return v;
}

START_TEST(monitor_sends_changes_and_summary)
{
    struct world w;
    world_up(&w);
    struct conn *m = open_conn(&w, CONN_ADMIN, "admin", true);
    ck_assert_int_eq(monitor_welcome(w.mon, m), 0);
    char names[256];
    struct json_object *data = NULL;
    ck_assert_uint_eq(take_events(m, names, sizeof names, "summary", &data), 1);
    ck_assert_str_eq(names, "summary");
    ck_assert_int_eq(json_object_get_int(get(data, "total_connections")), 1);
    ck_assert_ptr_nonnull(get(data, "timestamp"));
    json_object_put(data);
    data = NULL;
    ck_assert_uint_eq(monitor_flush(w.mon), 1);    /* its own opening */
    take_events(m, names, sizeof names, "", NULL);
    ck_assert_str_eq(names, "changes summary");

    /* a tab opens and closes: one changes event, in seq order, then summary */
    struct conn *tab = open_conn(&w, CONN_ADMIN, "alice", false);
    ck_assert_int_eq(hub_close_token(w.hub, tab->token, CLOSE_DISCONNECT_ROUTE), 1);
    struct conn *kiosk = open_conn(&w, CONN_DISPLAY, "lobby", false);
    ck_assert(registry_set_stale(w.reg, kiosk));    /* not acked: the registry only marks */
    ck_assert_uint_eq(monitor_flush(w.mon), 1);
    struct json_object *changes = NULL, *summary = NULL;
    take_events(m, names, sizeof names, "changes", &changes);
    ck_assert_str_eq(names, "changes summary");       /* coalesced: one of each */
    size_t opened = json_object_array_length(get(changes, "opened"));
    size_t closed = json_object_array_length(get(changes, "closed"));
    size_t updated = json_object_array_length(get(changes, "updated"));
    struct json_object *c0 = json_object_array_get_idx(get(changes, "closed"), 0);
    ck_assert_str_eq(json_object_get_string(get(c0, "reason")), "disconnect_route");
    ck_assert_str_eq(json_object_get_string(get(c0, "user")), "alice");
    ck_assert_ptr_nonnull(get(c0, "closed_at"));
    struct json_object *o0 = json_object_array_get_idx(get(changes, "opened"), 0);
    struct json_object *o1 = json_object_array_get_idx(get(changes, "opened"), 1);
    struct json_object *u0 = json_object_array_get_idx(get(changes, "updated"), 0);
    /* seq: opened alice, closed alice, opened lobby, lobby stale */
    ck_assert_int_eq(json_object_get_int(get(c0, "seq")), json_object_get_int(get(o0, "seq")) + 1);
    ck_assert_int_eq(json_object_get_int(get(o1, "seq")), json_object_get_int(get(c0, "seq")) + 1);
    ck_assert_int_eq(json_object_get_int(get(u0, "seq")), json_object_get_int(get(o1, "seq")) + 1);
    ck_assert_int_eq(json_object_get_int(get(changes, "seq")), json_object_get_int(get(u0, "seq")));
    ck_assert_str_eq(json_object_get_string(get(u0, "state")), "stale");
    json_object_put(changes);
    ck_assert_uint_eq(opened, 2);
    ck_assert_uint_eq(closed, 1);
    ck_assert_uint_eq(updated, 1);
    /* nothing leaks a token */
    struct conn *t2 = open_conn(&w, CONN_ADMIN, "bob", false);
    monitor_flush(w.mon);
    struct event *evs[CONN_QUEUE_MAX];
    bool closing;
    size_t n = conn_take(m, evs, CONN_QUEUE_MAX, &closing);
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(strstr(event_text(evs[i]), t2->token) == NULL, "a token in the monitor");
        if (strncmp(event_text(evs[i]), "event: summary", 14) == 0) {
            summary = json_tokener_parse(strstr(event_text(evs[i]), "\ndata: ") + 7);
        }
        event_unref(evs[i]);
    }
    if (summary) {
        ck_assert_int_eq(json_object_get_int(get(summary, "total_connections")), 3);
        ck_assert_int_eq(json_object_get_int(get(summary, "stale_connections")), 1);
        json_object_put(summary);
    }
    world_down(&w);
    conn_free(m);
    conn_free(tab);
    conn_free(kiosk);
    conn_free(t2);
}
END_TEST

START_TEST(monitor_resyncs_when_more_changed_than_fits)
{
    struct world w;
    world_up(&w);
    struct conn *m = open_conn(&w, CONN_ADMIN, "admin", true);
    enum { N = MONITOR_BATCH_MAX / 2 + 10 };    /* more opened and closed than fit */
    static struct conn *c[N];
    for (int i = 0; i < N; i++) {
        char name[16];
        snprintf(name, sizeof name, "d%d", i);
        c[i] = open_conn(&w, CONN_DISPLAY, name, false);
    }
    for (int i = 0; i < N; i++)
        hub_close_public_id(w.hub, c[i]->public_id, CLOSE_ADMIN_CLOSED);
    ck_assert_uint_eq(monitor_flush(w.mon), 1);
    char names[4096];
    struct json_object *resync = NULL;
    take_events(m, names, sizeof names, "resync", &resync);
    ck_assert_str_eq(names, "resync summary");
    ck_assert_str_eq(json_object_get_string(get(resync, "reason")), "overflow");
    json_object_put(resync);
    world_down(&w);
    conn_free(m);
    for (int i = 0; i < N; i++)
        conn_free(c[i]);
}
END_TEST

START_TEST(monitor_resyncs_when_the_view_was_rebuilt)
{
    struct world w;
    world_up(&w);
    struct conn *m = open_conn(&w, CONN_ADMIN, "admin", true);
    struct conn *d = open_conn(&w, CONN_DISPLAY, "lobby", false);
    feed_resync(hub_feed(w.hub));                       /* a cluster node back from an outage */
    ck_assert_uint_eq(monitor_flush(w.mon), 1);
    char names[4096];
    struct json_object *resync = NULL;
    take_events(m, names, sizeof names, "resync", &resync);
    ck_assert_str_eq(names, "resync summary");          /* instead of the changes */
    ck_assert_str_eq(json_object_get_string(get(resync, "reason")), "cluster");
    json_object_put(resync);
    world_down(&w);
    conn_free(m);
    conn_free(d);
}
END_TEST

START_TEST(monitor_resyncs_a_stream_that_fell_behind)
{
    struct world w;
    world_up(&w);
    struct conn *slow = open_conn(&w, CONN_ADMIN, "slow", true);
    struct conn *fast = open_conn(&w, CONN_ADMIN, "fast", true);
    monitor_flush(w.mon);
    char names[1024];
    take_events(slow, names, sizeof names, "", NULL);
    take_events(fast, names, sizeof names, "", NULL);
    /* slow's loop has not taken its queue for a while */
    struct event *e = mkevent("x");
    for (int i = 0; i <= MONITOR_BEHIND_EVENTS; i++)
        ck_assert_int_eq(conn_enqueue(slow, e), 0);
    struct conn *a = open_conn(&w, CONN_DISPLAY, "a", false);
    ck_assert_uint_eq(monitor_flush(w.mon), 1);        /* fast only */
    char got[1024];
    take_events(fast, got, sizeof got, "", NULL);
    ck_assert_str_eq(got, "changes summary");
    ck_assert_uint_eq(conn_queue_depth(slow), MONITOR_BEHIND_EVENTS + 1);  /* skipped */
    /* it catches up: the next update brings it a resync, not changes */
    struct event *evs[CONN_QUEUE_MAX];
    bool closing;
    size_t n = conn_take(slow, evs, CONN_QUEUE_MAX, &closing);
    for (size_t i = 0; i < n; i++)
        event_unref(evs[i]);
    struct conn *b = open_conn(&w, CONN_DISPLAY, "b", false);
    ck_assert_uint_eq(monitor_flush(w.mon), 2);
    take_events(slow, got, sizeof got, "", NULL);
    ck_assert_str_eq(got, "resync summary");
    take_events(fast, got, sizeof got, "", NULL);
    ck_assert_str_eq(got, "changes summary");
    event_unref(e);
    world_down(&w);
    conn_free(slow);
    conn_free(fast);
    conn_free(a);
    conn_free(b);
}
END_TEST

Suite *monitor_suite(void)
{
    Suite *s = suite_create("monitor");
    UNIT_TEST(s, monitor_sends_changes_and_summary);
    UNIT_TEST(s, monitor_resyncs_when_more_changed_than_fits);
    UNIT_TEST(s, monitor_resyncs_when_the_view_was_rebuilt);
    UNIT_TEST(s, monitor_resyncs_a_stream_that_fell_behind);
    return s;
}

/* tests/unit/stats.c -- the stats answer (src/stats.c). */
#include "unit.h"

#include "displays.h"
#include "hub.h"
#include "metrics.h"
#include "registry.h"
#include "roster.h"
#include "stats.h"
#include "timeutil.h"

static void write_full(struct jw *w, const void *arg)
{
    ck_assert_int_eq(stats_write(w, arg), 0);
}

static void write_summary(struct jw *w, const void *arg)
{
    stats_write_summary(w, arg);
}

/* The full stats answer for s, as json-c. */
static struct json_object *full(const struct registry_snapshot *s, int64_t now,
                                uint64_t events, int64_t hb, const struct stats_roster *roster)
{
    struct stats_view v = { .snap = s, .now_ms = now, .events_last_hour = events,
                            .heartbeat_ms = hb, .roster = roster };
    return stats_render(write_full, &v);
}

START_TEST(registry_snapshot_and_stats)
{
    struct registry *r = registry_create(100, 0, 0);
    struct conn *c[5];
    for (int i = 0; i < 5; i++) {
        char name[16];
        snprintf(name, sizeof name, i < 2 ? "admin" : "lobby%d", i);
        c[i] = mk(i < 2 ? CONN_ADMIN : CONN_DISPLAY, name);
        registry_add(r, c[i]);
    }
    atomic_store(&c[1]->events_sent, 7);
    struct registry_snapshot s;
    ck_assert_int_eq(registry_snapshot(r, &s), 0);
    ck_assert_uint_eq(s.count, 5);
    ck_assert_uint_eq(s.admin_count, 2);
    ck_assert_uint_eq(s.display_count, 3);
    ck_assert_str_eq(s.conns[0].public_id, c[0]->public_id);     /* oldest first */
    ck_assert_uint_eq(s.conns[1].events_sent, 7);
    struct json_object *data = full(&s, c[0]->connected_at_ms + 2000, 9, 5000, NULL);
    const char *json = json_object_to_json_string(data);
    ck_assert_msg(strstr(json, c[0]->token) == NULL, "token leaked into stats");
    struct json_object *v;
    ck_assert(json_object_object_get_ex(data, "total_connections", &v));
    ck_assert_int_eq(json_object_get_int(v), 5);
    ck_assert(json_object_object_get_ex(data, "events_sent_last_hour", &v));
    ck_assert_int_eq(json_object_get_int(v), 9);
    ck_assert(json_object_object_get_ex(data, "connections", &v));
    ck_assert_uint_eq(json_object_array_length(v), 5);
    struct json_object *first = json_object_array_get_idx(v, 0);
    ck_assert(json_object_object_get_ex(first, "user", NULL));
    ck_assert(json_object_object_get_ex(json_object_array_get_idx(v, 4), "display", NULL));
    ck_assert(json_object_object_get_ex(data, "connection_details", &v));
    ck_assert(json_object_object_get_ex(v, "by_type", &v));
    struct json_object *adm, *dis;
    ck_assert(json_object_object_get_ex(v, "admin", &adm));
    ck_assert(json_object_object_get_ex(v, "display", &dis));
    ck_assert_uint_eq(json_object_array_length(adm), 2);
    ck_assert_uint_eq(json_object_array_length(dis), 3);
    json_object_put(data);
    registry_snapshot_release(&s);
    registry_remove_all(r, CLOSE_SHUTDOWN);
    for (int i = 0; i < 5; i++)
        conn_free(c[i]);
    registry_free(r);
}
END_TEST

/* realloc() of a block fails while this is set (a new block, from NULL,
 * does not), and failed_reallocs counts those failures: check_units links
 * with --wrap=realloc. */
static bool fail_reallocs;
static unsigned failed_reallocs;

void *__real_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n)
{
    if (fail_reallocs && p) {
        failed_reallocs++;
        return NULL;
    }
    return __real_realloc(p, n);
}

/* Renders stats for connections of types pat ('a' admin, 'd' display),
 * named name_len characters, and checks that by_type holds exactly the
 * objects of `connections` of that type, in the same order and byte for
 * byte. */
static void check_lists_by_type(const char *pat, size_t name_len)
{
    size_t n = strlen(pat);
    struct registry *r = registry_create(16, 0, 0);
    struct conn *c[8];
    for (size_t i = 0; i < n; i++) {
        char name[CONN_NAME_MAX + 1];
        snprintf(name, sizeof name, "n\"%zu", i);         /* escaped in the output */
        for (size_t k = strlen(name); k < name_len && k < CONN_NAME_MAX; k++)
            name[k] = '"', name[k + 1] = '\0';
        c[i] = mk(pat[i] == 'a' ? CONN_ADMIN : CONN_DISPLAY, name);
        atomic_store(&c[i]->events_sent, i * 11);
        ck_assert_int_eq(registry_add(r, c[i]), 0);
    }
    struct registry_snapshot s;
    ck_assert_int_eq(registry_snapshot(r, &s), 0);
    struct json_object *data = full(&s, time_now_ms(), 0, 5000, NULL);
    ck_assert_ptr_nonnull(data);
    struct json_object *all, *det, *bt, *list[2];
    ck_assert(json_object_object_get_ex(data, "connections", &all));
    ck_assert(json_object_object_get_ex(data, "connection_details", &det));
    ck_assert(json_object_object_get_ex(det, "by_type", &bt));
    ck_assert(json_object_object_get_ex(bt, "admin", &list[0]));
    ck_assert(json_object_object_get_ex(bt, "display", &list[1]));
    ck_assert_uint_eq(json_object_array_length(all), n);
    size_t k[2] = { 0, 0 };
    for (size_t i = 0; i < n; i++) {
        int t = pat[i] == 'a' ? 0 : 1;
        struct json_object *o = json_object_array_get_idx(all, i), *v;
        ck_assert(json_object_object_get_ex(o, t == 0 ? "user" : "display", &v));
        ck_assert_str_eq(json_object_get_string(v), c[i]->name);
        const char *want = json_object_to_json_string(o);
        const char *got = json_object_to_json_string(json_object_array_get_idx(list[t], k[t]++));
        ck_assert_str_eq(got, want);
    }
    ck_assert_uint_eq(json_object_array_length(list[0]), k[0]);
    ck_assert_uint_eq(json_object_array_length(list[1]), k[1]);
    json_object_put(data);
    registry_snapshot_release(&s);
    registry_remove_all(r, CLOSE_SHUTDOWN);
    for (size_t i = 0; i < n; i++)
        conn_free(c[i]);
    registry_free(r);
}

static const char *const type_patterns[] = { "", "a", "d", "aaa", "ddd", "adadda", "daaddda" };

START_TEST(stats_lists_by_type)
{
    for (size_t p = 0; p < sizeof type_patterns / sizeof *type_patterns; p++) {
        check_lists_by_type(type_patterns[p], 0);
        check_lists_by_type(type_patterns[p], CONN_NAME_MAX);   /* objects outgrow the estimate */
    }
}
END_TEST

/* Long names outgrow the text kept for by_type; when it cannot grow, the
 * lists are rendered anew and the answer is the same. */
START_TEST(stats_lists_when_text_cannot_grow)
{
    for (size_t p = 1; p < sizeof type_patterns / sizeof *type_patterns; p++) {
        fail_reallocs = true;
        failed_reallocs = 0;
        check_lists_by_type(type_patterns[p], CONN_NAME_MAX);
        fail_reallocs = false;
        ck_assert_uint_gt(failed_reallocs, 0);
    }
}
END_TEST

START_TEST(stats_stale_and_roster)
{
    struct registry *r = registry_create(10, 0, 0);
    struct metrics *m = metrics_create();
    struct hub *h = hub_local_create(r, m, 10, 1000, 1);
    struct conn *fresh = conn_create(CONN_DISPLAY, "hall", NULL, true);
    struct conn *plain = conn_create(CONN_DISPLAY, "lobby", NULL, false);
    struct hub_resume now = { 0 };
    hub_subscribe(h, fresh, &now);
    hub_subscribe(h, plain, &now);
    ck_assert(registry_set_stale(r, fresh));            /* what its loop does on time */

    char path[] = "/tmp/sse-roster-XXXXXX";
    int fd = mkstemp(path);
    ck_assert(write(fd, "lobby\nkitchen\nhall\n", 19) == 19);
    close(fd);
    char err[256];
    struct displays *d = displays_load(path, err, sizeof err);
    ck_assert_msg(d != NULL, "%s", err);
    unlink(path);
    displays_seen(d, "kitchen", 1796040245123LL);
    struct stats_roster roster;
    ck_assert_int_eq(roster_build(h, d, &roster), 0);
    ck_assert_uint_eq(roster.connected, 1);
    ck_assert_uint_eq(roster.stale, 1);
    ck_assert_uint_eq(roster.missing, 1);
    struct registry_snapshot s;
    registry_snapshot(r, &s);
    int64_t t0 = fresh->connected_at_ms;
    struct json_object *data = full(&s, t0 + 2500, 0, 1000, &roster);
    struct json_object *list, *v;
    ck_assert(json_object_object_get_ex(data, "expected_displays", &list));
    ck_assert_uint_eq(json_object_array_length(list), 3);
    const char *want[][2] = { { "hall", "stale" }, { "kitchen", "missing" }, { "lobby", "connected" } };
    for (int i = 0; i < 3; i++) {
        struct json_object *o = json_object_array_get_idx(list, i);
        json_object_object_get_ex(o, "display", &v);
        ck_assert_str_eq(json_object_get_string(v), want[i][0]);
        json_object_object_get_ex(o, "state", &v);
        ck_assert_str_eq(json_object_get_string(v), want[i][1]);
        ck_assert(json_object_object_get_ex(o, "last_seen", &v));
        if (i == 1)
            ck_assert_str_eq(json_object_get_string(v), "2026-11-30T12:04:05.123Z");
        else
            ck_assert_ptr_nonnull(v);                   /* live: its last ack or ping */
    }
    ck_assert(json_object_object_get_ex(data, "stale_connections", &v));
    ck_assert_int_eq(json_object_get_int(v), 1);
    ck_assert(json_object_object_get_ex(data, "roster", &v));
    ck_assert(json_object_object_get_ex(v, "missing", &v));
    ck_assert_int_eq(json_object_get_int(v), 1);
    ck_assert(json_object_object_get_ex(data, "closed_by_reason", &v));
    ck_assert_int_eq(json_object_object_length(v), CLOSE_REASONS - 1);
    json_object_put(data);
    data = full(&s, t0, 0, 1000, NULL);
    ck_assert(!json_object_object_get_ex(data, "expected_displays", NULL));
    ck_assert(json_object_object_get_ex(data, "roster", &v));
    ck_assert_ptr_null(v);
    json_object_put(data);
    roster_free(&roster);
    displays_free(d);
    registry_snapshot_release(&s);
    registry_remove_all(r, CLOSE_SHUTDOWN);
    conn_free(fresh);
    conn_free(plain);
    hub_free(h);
    metrics_free(m);
    registry_free(r);
}
END_TEST

/* The summary: every count, no list; the seq of its snapshot. */
START_TEST(stats_summary_and_page)
{
    struct registry *r = registry_create(10, 0, 0);
    struct conn *c[4];
    const char *names[] = { "alice", "lobby", "bob", "hall" };
    for (int i = 0; i < 4; i++) {
        c[i] = conn_create(i % 2 ? CONN_DISPLAY : CONN_ADMIN, names[i], i == 2 ? "Tab-X" : NULL,
                           i == 3);
        c[i]->connected_at_ms = 1000000 + i * 1000;
        registry_add(r, c[i]);
    }
    registry_set_stale(r, c[3]);
    registry_remove(r, c[2], CLOSE_DISCONNECT_ROUTE);
    struct registry_snapshot s;
    registry_counts(r, &s);
    ck_assert_ptr_null(s.conns);
    struct stats_view v = { .snap = &s, .now_ms = 1010000, .events_last_hour = 3,
                            .heartbeat_ms = 5000 };
    struct json_object *o = stats_render(write_summary, &v), *x;
    ck_assert_ptr_nonnull(o);
    ck_assert(json_object_object_get_ex(o, "total_connections", &x));
    ck_assert_int_eq(json_object_get_int(x), 3);
    ck_assert(json_object_object_get_ex(o, "stale_connections", &x));
    ck_assert_int_eq(json_object_get_int(x), 1);
    ck_assert(json_object_object_get_ex(o, "average_connection_age_seconds", &x));
    ck_assert_double_eq_tol(json_object_get_double(x), (10 + 9 + 7) / 3.0, 0.06);
    ck_assert(json_object_object_get_ex(o, "closed_total", &x));
    ck_assert_int_eq(json_object_get_int(x), 1);
    ck_assert(json_object_object_get_ex(o, "seq", &x));
    ck_assert_int_eq(json_object_get_int(x), 0);        /* no feed */
    ck_assert(json_object_object_get_ex(o, "stale_after_heartbeats", &x));
    ck_assert(!json_object_object_get_ex(o, "connections", NULL));
    ck_assert(!json_object_object_get_ex(o, "timestamp", NULL));
    json_object_put(o);

    /* a page: newest first, filtered, with the total that matches */
    struct registry_query q = { .type = -1, .state = -1, .offset = 0, .limit = 2 };
    size_t total;
    ck_assert_int_eq(registry_page(r, &q, &s, &total), 0);
    ck_assert_uint_eq(total, 3);
    ck_assert_uint_eq(s.nconns, 2);
    ck_assert_str_eq(s.conns[0].name, "hall");
    ck_assert_str_eq(s.conns[1].name, "lobby");
    ck_assert(s.conns[0].stale);
    registry_snapshot_release(&s);
    q = (struct registry_query){ .type = CONN_DISPLAY, .state = 0, .offset = 0, .limit = 10 };
    ck_assert_int_eq(registry_page(r, &q, &s, &total), 0);
    ck_assert_uint_eq(total, 1);
    ck_assert_str_eq(s.conns[0].name, "lobby");
    registry_snapshot_release(&s);
    q = (struct registry_query){ .type = -1, .state = -1, .text = "ALI", .limit = 10 };
    ck_assert_int_eq(registry_page(r, &q, &s, &total), 0);
    ck_assert_uint_eq(total, 1);
    registry_snapshot_release(&s);
    char id[PUBLIC_ID_LEN + 1];
    memcpy(id, c[1]->public_id, sizeof id);
    q.text = id + 5;                                    /* part of a public id */
    ck_assert_int_eq(registry_page(r, &q, &s, &total), 0);
    ck_assert_uint_eq(total, 1);
    ck_assert_str_eq(s.conns[0].public_id, id);
    registry_snapshot_release(&s);
    q = (struct registry_query){ .type = -1, .state = -1, .offset = 5, .limit = 10 };
    ck_assert_int_eq(registry_page(r, &q, &s, &total), 0);
    ck_assert_uint_eq(total, 3);                        /* past the end: an empty page */
    ck_assert_uint_eq(s.nconns, 0);
    registry_snapshot_release(&s);
    registry_remove_all(r, CLOSE_SHUTDOWN);
    for (int i = 0; i < 4; i++)
        conn_free(c[i]);
    registry_free(r);
}
END_TEST

Suite *stats_suite(void)
{
    Suite *s = suite_create("stats");
    UNIT_TEST(s, registry_snapshot_and_stats);
    UNIT_TEST(s, stats_lists_by_type);
    UNIT_TEST(s, stats_lists_when_text_cannot_grow);
    UNIT_TEST(s, stats_stale_and_roster);
    UNIT_TEST(s, stats_summary_and_page);
    return s;
}

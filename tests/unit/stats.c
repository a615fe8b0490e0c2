/* tests/unit/stats.c -- the stats answer (src/stats.c). */
#include "unit.h"

#include "displays.h"
#include "registry.h"
#include "stats.h"
#include "timeutil.h"

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
    struct json_object *data = stats_render(&s, c[0]->connected_at_ms + 2000, 9, 5000, NULL);
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
    struct json_object *data = stats_render(&s, time_now_ms(), 0, 5000, NULL);
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
    struct conn *fresh = conn_create(CONN_DISPLAY, "hall", NULL, true);
    struct conn *plain = conn_create(CONN_DISPLAY, "lobby", NULL, false);
    registry_add(r, fresh);
    registry_add(r, plain);
    struct registry_snapshot s;
    registry_snapshot(r, &s);
    int64_t t0 = fresh->connected_at_ms;
    ck_assert(!stats_is_stale(&s.conns[0], t0 + 1999, 1000));
    ck_assert(stats_is_stale(&s.conns[0], t0 + 2000, 1000));
    ck_assert(!stats_is_stale(&s.conns[1], t0 + 60000, 1000));   /* never acks: not judged */

    char path[] = "/tmp/sse-roster-XXXXXX";
    int fd = mkstemp(path);
    ck_assert(write(fd, "lobby\nkitchen\nhall\n", 19) == 19);
    close(fd);
    char err[256];
    struct displays *d = displays_load(path, err, sizeof err);
    ck_assert_msg(d != NULL, "%s", err);
    unlink(path);
    struct json_object *data = stats_render(&s, t0 + 2500, 0, 1000, d);
    struct json_object *roster, *v;
    ck_assert(json_object_object_get_ex(data, "expected_displays", &roster));
    ck_assert_uint_eq(json_object_array_length(roster), 3);
    const char *want[][2] = { { "hall", "stale" }, { "kitchen", "missing" }, { "lobby", "connected" } };
    for (int i = 0; i < 3; i++) {
        struct json_object *o = json_object_array_get_idx(roster, i);
        json_object_object_get_ex(o, "display", &v);
        ck_assert_str_eq(json_object_get_string(v), want[i][0]);
        json_object_object_get_ex(o, "state", &v);
        ck_assert_str_eq(json_object_get_string(v), want[i][1]);
    }
    ck_assert(json_object_object_get_ex(data, "stale_connections", &v));
    ck_assert_int_eq(json_object_get_int(v), 1);
    ck_assert(json_object_object_get_ex(data, "closed_by_reason", &v));
    ck_assert_int_eq(json_object_object_length(v), CLOSE_REASONS - 1);
    json_object_put(data);
    data = stats_render(&s, t0, 0, 1000, NULL);
    ck_assert(!json_object_object_get_ex(data, "expected_displays", NULL));
    json_object_put(data);
    displays_free(d);
    registry_snapshot_release(&s);
    registry_remove_all(r, CLOSE_SHUTDOWN);
    conn_free(fresh);
    conn_free(plain);
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
    return s;
}

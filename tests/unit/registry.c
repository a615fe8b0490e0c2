/* tests/unit/registry.c -- the registry of live connections (src/registry.c). */
#include "unit.h"

#include "conn.h"
#include "event.h"
#include "registry.h"
#include "timeutil.h"

START_TEST(registry_basics)
{
    struct registry *r = registry_create(3, 0, 0);
    struct conn *a = mk(CONN_ADMIN, "alice"), *b = mk(CONN_ADMIN, "bob"),
                *d = mk(CONN_DISPLAY, "lobby"), *x = mk(CONN_DISPLAY, "x");
    ck_assert_int_eq(registry_add(r, a), 0);
    ck_assert_int_eq(registry_add(r, b), 0);
    ck_assert_int_eq(registry_add(r, d), 0);
    ck_assert_int_eq(registry_add(r, x), -1);           /* full */
    ck_assert_uint_eq(registry_count(r), 3);
    ck_assert(registry_contains(r, a));

    struct filter admins = { .type = CONN_ADMIN };
    struct filter bob = { .type = -1, .user = "bob" };
    struct filter lobby = { .type = -1, .display = "lobby" };
    struct event *e = mkevent("news");
    ck_assert_uint_eq(registry_broadcast(r, NULL, e), 3);
    ck_assert_uint_eq(registry_broadcast(r, &admins, e), 2);
    ck_assert_uint_eq(registry_broadcast(r, &bob, e), 1);
    ck_assert_uint_eq(registry_broadcast(r, &lobby, e), 1);
    event_unref(e);
    bool closing;
    ck_assert_uint_eq(drain(a, &closing), 2);
    ck_assert_uint_eq(drain(b, &closing), 3);
    ck_assert_uint_eq(drain(d, &closing), 2);
    ck_assert(!closing);

    /* remove by token: idempotent, flags the stream closing */
    char tok[TOKEN_LEN + 1];
    memcpy(tok, b->token, sizeof tok);
    ck_assert(registry_remove_token(r, tok, CLOSE_DISCONNECT_ROUTE));
    ck_assert(!registry_remove_token(r, tok, CLOSE_DISCONNECT_ROUTE));
    ck_assert(!registry_contains(r, b));
    ck_assert_int_eq(b->reason, CLOSE_DISCONNECT_ROUTE);
    drain(b, &closing);
    ck_assert(closing);
    ck_assert(!registry_remove(r, b, CLOSE_CLIENT_CLOSED));  /* already gone */
    ck_assert_int_eq(b->reason, CLOSE_DISCONNECT_ROUTE);
    ck_assert(registry_remove(r, a, CLOSE_WRITE_FAILED));
    ck_assert(!registry_contains(r, a));
    ck_assert_int_eq(a->reason, CLOSE_WRITE_FAILED);
    ck_assert_uint_eq(registry_count(r), 1);
    ck_assert_int_eq(registry_add(r, x), 0);            /* room again */
    ck_assert_uint_eq(registry_remove_all(r, CLOSE_SHUTDOWN), 2);
    ck_assert_int_eq(d->reason, CLOSE_SHUTDOWN);
    ck_assert_uint_eq(registry_count(r), 0);
    conn_free(a);
    conn_free(b);
    conn_free(d);
    conn_free(x);
    registry_free(r);
    registry_free(NULL);
    conn_free(NULL);
}
END_TEST

START_TEST(registry_slow_consumer)
{
    struct registry *r = registry_create(10, 0, 0);
    struct conn *slow = mk(CONN_DISPLAY, "slow"), *fast = mk(CONN_DISPLAY, "fast");
    registry_add(r, slow);
    registry_add(r, fast);
    struct event *e = mkevent("tick");
    bool closing;
    for (int i = 0; i < CONN_QUEUE_MAX; i++) {
        ck_assert_uint_eq(registry_broadcast(r, NULL, e), 2);
        drain(fast, &closing);
    }
    /* slow's queue is full now: the next event drops it, not the others */
    ck_assert_uint_eq(registry_broadcast(r, NULL, e), 1);
    ck_assert(!registry_contains(r, slow));
    ck_assert_int_eq(slow->reason, CLOSE_SLOW_CONSUMER);
    ck_assert(registry_contains(r, fast));
    ck_assert_uint_eq(drain(slow, &closing), CONN_QUEUE_MAX);
    ck_assert(closing);
    event_unref(e);
    registry_remove(r, fast, CLOSE_SHUTDOWN);
    conn_free(slow);
    conn_free(fast);
    registry_free(r);
}
END_TEST

/* A broadcast releases the registry lock between batches.  Meanwhile
 * other calls run (a snapshot here), a connection removed ahead of the
 * broadcast is skipped, the ones behind it and still ahead are reached
 * once, and a second broadcast waits its turn: every stream gets the two
 * events in the same order. */
#define BATCHES 4
#define BATCH_CONNS (BATCHES * REGISTRY_BROADCAST_BATCH)

struct batch_probe {
    struct registry *r;
    struct conn **c;
    struct event *second;
    pthread_t thread;
    int pauses;
    size_t second_n;
    size_t seen_in_snapshot;
};

static void *second_broadcast(void *arg)
{
    struct batch_probe *p = arg;
    p->second_n = registry_broadcast(p->r, NULL, p->second);
    return NULL;
}

static void between_batches(void *arg)
{
    struct batch_probe *p = arg;
    if (p->pauses++ != 0)
        return;
    /* The first batch is done: c[0..BATCH-1] have the event. */
    struct registry_snapshot s;
    ck_assert_int_eq(registry_snapshot(p->r, &s), 0);      /* the lock is free */
    p->seen_in_snapshot = s.count;
    registry_snapshot_release(&s);
    size_t b = REGISTRY_BROADCAST_BATCH;
    ck_assert(registry_remove(p->r, p->c[b], CLOSE_CLIENT_CLOSED));      /* next in line */
    ck_assert(registry_remove(p->r, p->c[b + 1], CLOSE_CLIENT_CLOSED));
    ck_assert(registry_remove(p->r, p->c[b - 1], CLOSE_CLIENT_CLOSED));  /* already reached */
    ck_assert(registry_remove(p->r, p->c[BATCH_CONNS - 1], CLOSE_CLIENT_CLOSED));  /* the last */
    pthread_create(&p->thread, NULL, second_broadcast, p);
    struct timespec ts = { 0, 50 * 1000 * 1000 };  /* time for it to overtake, were it let */
    nanosleep(&ts, NULL);
}

START_TEST(registry_broadcast_in_batches)
{
    struct registry *r = registry_create(BATCH_CONNS, 0, 0);
    static struct conn *c[BATCH_CONNS];
    for (size_t i = 0; i < BATCH_CONNS; i++) {
        char name[16];
        snprintf(name, sizeof name, "u%zu", i);
        c[i] = mk(CONN_ADMIN, name);
        ck_assert_int_eq(registry_add(r, c[i]), 0);
    }
    struct sse_event one = { .id = 1, .name = "one", .data = "{}", .data_len = 2 };
    struct sse_event two = { .id = 2, .name = "two", .data = "{}", .data_len = 2 };
    struct batch_probe p = { .r = r, .c = c, .second = event_create(&two) };
    struct event *first = event_create(&one);
    registry_set_batch_hook(r, between_batches, &p);
    size_t n = registry_broadcast(r, NULL, first);
    pthread_join(p.thread, NULL);
    ck_assert_int_eq(p.pauses, BATCHES - 1 + BATCHES - 1);  /* both broadcasts paused */
    ck_assert_uint_eq(p.seen_in_snapshot, BATCH_CONNS);
    ck_assert_uint_eq(n, BATCH_CONNS - 3);
    ck_assert_uint_eq(p.second_n, BATCH_CONNS - 4);
    size_t b = REGISTRY_BROADCAST_BATCH;
    for (size_t i = 0; i < BATCH_CONNS; i++) {
        struct event *evs[CONN_QUEUE_MAX];
        bool closing;
        size_t got = conn_take(c[i], evs, CONN_QUEUE_MAX, &closing);
        size_t want = i == b || i == b + 1 || i == BATCH_CONNS - 1 ? 0 : i == b - 1 ? 1 : 2;
        ck_assert_msg(got == want, "connection %zu got %zu events, not %zu", i, got, want);
        for (size_t k = 0; k < got; k++) {
            ck_assert_msg(evs[k] == (k == 0 ? first : p.second),
                          "connection %zu got the events out of order", i);
            event_unref(evs[k]);
        }
    }
    registry_set_batch_hook(r, NULL, NULL);
    registry_remove_all(r, CLOSE_SHUTDOWN);
    for (size_t i = 0; i < BATCH_CONNS; i++)
        conn_free(c[i]);
    event_unref(first);
    event_unref(p.second);
    registry_free(r);
}
END_TEST

START_TEST(registry_superseding)
{
    struct registry *r = registry_create(10, 0, 0);
    struct conn *a1 = conn_create(CONN_ADMIN, "alice", "tab1", true);
    struct conn *a2 = conn_create(CONN_ADMIN, "alice", "tab1", true);
    struct conn *b = conn_create(CONN_ADMIN, "bob", "tab1", false);   /* other user */
    struct conn *n1 = conn_create(CONN_ADMIN, "alice", NULL, false);  /* no client id */
    struct conn *n2 = conn_create(CONN_ADMIN, "alice", NULL, false);
    struct conn *d1 = conn_create(CONN_DISPLAY, "lobby", "x", false);
    struct conn *d2 = conn_create(CONN_DISPLAY, "lobby", "x", false); /* the same browser */
    ck_assert_int_eq(registry_add(r, a1), 0);
    ck_assert_int_eq(registry_add(r, b), 0);
    ck_assert_int_eq(registry_add(r, n1), 0);
    ck_assert_int_eq(registry_add(r, n2), 0);
    ck_assert_int_eq(registry_add(r, d1), 0);
    ck_assert_int_eq(registry_add(r, a2), 1);
    ck_assert(!registry_contains(r, a1));
    ck_assert_int_eq(a1->reason, CLOSE_SUPERSEDED);
    bool closing;
    drain(a1, &closing);
    ck_assert(closing);
    ck_assert_int_eq(registry_add(r, d2), 1);
    ck_assert_int_eq(d1->reason, CLOSE_SUPERSEDED);
    ck_assert_uint_eq(registry_count(r), 5);               /* a2 b n1 n2 d2 */

    /* the closed log, newest first, with totals */
    struct closed_info *log;
    uint64_t totals[CLOSE_REASONS];
    ck_assert_int_eq(registry_closed(r, &log, totals), 2);
    ck_assert_str_eq(log[0].public_id, d1->public_id);
    ck_assert_str_eq(log[1].public_id, a1->public_id);
    ck_assert_str_eq(log[1].client, "tab1");
    ck_assert_int_eq(log[1].reason, CLOSE_SUPERSEDED);
    ck_assert_uint_eq(totals[CLOSE_SUPERSEDED], 2);
    free(log);

    /* admin close by public id */
    ck_assert(registry_remove_public_id(r, b->public_id, CLOSE_ADMIN_CLOSED));
    ck_assert(!registry_remove_public_id(r, b->public_id, CLOSE_ADMIN_CLOSED));
    ck_assert_int_eq(b->reason, CLOSE_ADMIN_CLOSED);

    /* acks: unknown token, unsent seq, a sent one */
    ck_assert_int_eq(registry_ack(r, "00000000-0000-4000-8000-000000000000", 1), -2);
    ck_assert_int_eq(registry_ack(r, a2->token, 1), -1);
    ck_assert_uint_eq(conn_next_ping(a2, time_mono_ms()), 1);
    ck_assert_uint_eq(conn_next_ping(a2, time_mono_ms()), 2);
    ck_assert_int_ge(registry_ack(r, a2->token, 2), 0);
    ck_assert_int_ge(registry_ack(r, a2->token, 1), 0);    /* late, still known */
    ck_assert_int_eq(registry_ack(r, a2->token, 3), -1);
    ck_assert_int_gt(atomic_load(&a2->last_ack_ms), 0);
    for (int i = 0; i < CONN_PING_RING; i++)
        conn_next_ping(a2, time_mono_ms());
    ck_assert_int_eq(registry_ack(r, a2->token, 1), -1);   /* too old to know */

    registry_remove_all(r, CLOSE_SHUTDOWN);
    struct conn *all[] = { a1, a2, b, n1, n2, d1, d2 };
    for (size_t i = 0; i < 7; i++)
        conn_free(all[i]);
    registry_free(r);
}
END_TEST

START_TEST(registry_closed_ring)
{
    struct registry *r = registry_create(10, 0, 0);
    char first[PUBLIC_ID_LEN + 1] = "", last[PUBLIC_ID_LEN + 1];
    for (int i = 0; i < REGISTRY_CLOSED_MAX + 100; i++) {
        struct conn *c = mk(CONN_ADMIN, "a");
        registry_add(r, c);
        registry_remove(r, c, i % 2 ? CLOSE_CLIENT_CLOSED : CLOSE_WRITE_FAILED);
        if (i == 100)
            memcpy(first, c->public_id, sizeof first);
        memcpy(last, c->public_id, sizeof last);
        conn_free(c);
    }
    struct closed_info *log;
    uint64_t totals[CLOSE_REASONS];
    ck_assert_int_eq(registry_closed(r, &log, totals), REGISTRY_CLOSED_MAX);
    ck_assert_str_eq(log[0].public_id, last);
    ck_assert_str_eq(log[REGISTRY_CLOSED_MAX - 1].public_id, first);
    ck_assert_uint_eq(totals[CLOSE_CLIENT_CLOSED] + totals[CLOSE_WRITE_FAILED],
                      REGISTRY_CLOSED_MAX + 100);
    ck_assert_str_eq(log[0].name, "a");
    ck_assert_str_eq(log[0].client, "");
    free(log);

    /* Names are kept whole at their longest, with the rest of the entry,
     * over entries that held shorter ones. */
    char name[CONN_NAME_MAX + 1], client[CONN_CLIENT_MAX + 1];
    memset(name, 'n', CONN_NAME_MAX);
    name[CONN_NAME_MAX] = '\0';
    memset(client, 'c', CONN_CLIENT_MAX);
    client[CONN_CLIENT_MAX] = '\0';
    struct conn *d = conn_create(CONN_DISPLAY, "lobby", NULL, false);
    struct conn *c = conn_create(CONN_ADMIN, name, client, false);
    registry_add(r, d);
    registry_add(r, c);
    atomic_store(&c->events_sent, 7);
    registry_remove(r, d, CLOSE_SHUTDOWN);
    registry_remove(r, c, CLOSE_SUPERSEDED);
    ck_assert_int_eq(registry_closed(r, &log, totals), REGISTRY_CLOSED_MAX);
    ck_assert_str_eq(log[0].public_id, c->public_id);
    ck_assert_str_eq(log[0].name, name);
    ck_assert_str_eq(log[0].client, client);
    ck_assert_int_eq(log[0].type, CONN_ADMIN);
    ck_assert_int_eq(log[0].reason, CLOSE_SUPERSEDED);
    ck_assert_uint_eq(log[0].events_sent, 7);
    ck_assert_int_eq(log[0].opened_ms, c->connected_at_ms);
    ck_assert_int_ge(log[0].closed_ms, log[0].opened_ms);
    ck_assert_str_eq(log[1].name, "lobby");
    ck_assert_str_eq(log[1].client, "");
    ck_assert_int_eq(log[1].type, CONN_DISPLAY);
    ck_assert_int_eq(log[1].reason, CLOSE_SHUTDOWN);
    free(log);
    conn_free(c);
    conn_free(d);
    /* around the length kept inside an entry (40 bytes with both NULs) */
    for (int clen = 17; clen <= 20; clen++) {
        client[clen] = '\0';
        c = conn_create(CONN_ADMIN, "twenty-characters-ab", client, false);
        registry_add(r, c);
        registry_remove(r, c, CLOSE_CLIENT_CLOSED);
        ck_assert_int_eq(registry_closed(r, &log, totals), REGISTRY_CLOSED_MAX);
        ck_assert_str_eq(log[0].name, "twenty-characters-ab");
        ck_assert_str_eq(log[0].client, client);
        free(log);
        conn_free(c);
        client[clen] = 'c';
    }
    registry_free(r);
}
END_TEST

/* The hash tables grow with a peak and shrink back as it passes; every
 * lookup (token, supersede key) keeps working across both. */
START_TEST(registry_tables_shrink)
{
    enum { PEAK = 5000 };
    struct registry *r = registry_create(PEAK + 10, 0, 0);
    static struct conn *cs[PEAK];
    ck_assert_uint_eq(registry_buckets(r), REGISTRY_MIN_BUCKETS);
    for (int i = 0; i < PEAK; i++) {
        char name[16];
        snprintf(name, sizeof name, "d%d", i);
        cs[i] = mk(CONN_DISPLAY, name);
        ck_assert_int_eq(registry_add(r, cs[i]), 0);
    }
    ck_assert_uint_eq(registry_buckets(r), 8192);       /* doubled at 256, ..., 4096 */
    /* down to 10: halved at each quarter on the way */
    for (int i = 10; i < PEAK; i++) {
        ck_assert(registry_remove(r, cs[i], CLOSE_CLIENT_CLOSED));
        ck_assert_uint_ge(registry_buckets(r), registry_count(r));
        conn_free(cs[i]);
    }
    ck_assert_uint_eq(registry_count(r), 10);
    ck_assert_uint_eq(registry_buckets(r), REGISTRY_MIN_BUCKETS);
    /* the 10 left are still found by token and by display name */
    for (int i = 0; i < 10; i++) {
        ck_assert(registry_ack(r, cs[i]->token, 1) != -2);
        char name[16];
        snprintf(name, sizeof name, "d%d", i);
        struct conn *again = mk(CONN_DISPLAY, name);
        again->keyed = true;
        ck_assert_int_eq(registry_add(r, again), 1);    /* supersedes cs[i] */
        ck_assert(!registry_contains(r, cs[i]));
        conn_free(cs[i]);
        cs[i] = again;
    }
    /* a count going up and down across the doubling point does not
     * rehash each time: the tables halve only under a quarter full */
    static struct conn *extra[247];
    for (int i = 0; i < 247; i++) {
        extra[i] = mk(CONN_ADMIN, "u");
        ck_assert_int_eq(registry_add(r, extra[i]), 0);
    }
    ck_assert_uint_eq(registry_count(r), 257);
    ck_assert_uint_eq(registry_buckets(r), 2 * REGISTRY_MIN_BUCKETS);
    for (int k = 0; k < 3; k++) {
        for (int i = 147; i < 247; i++)
            registry_remove(r, extra[i], CLOSE_CLIENT_CLOSED);
        ck_assert_uint_eq(registry_buckets(r), 2 * REGISTRY_MIN_BUCKETS);    /* 157 left */
        for (int i = 147; i < 247; i++)
            ck_assert_int_eq(registry_add(r, extra[i]), 0);
        ck_assert_uint_eq(registry_buckets(r), 2 * REGISTRY_MIN_BUCKETS);
    }
    for (int i = 0; i < 247; i++) {
        registry_remove(r, extra[i], CLOSE_CLIENT_CLOSED);
        if (registry_count(r) >= 128)
            ck_assert_uint_eq(registry_buckets(r), 2 * REGISTRY_MIN_BUCKETS);
        conn_free(extra[i]);
    }
    ck_assert_uint_eq(registry_buckets(r), REGISTRY_MIN_BUCKETS);
    ck_assert_uint_eq(registry_remove_all(r, CLOSE_SHUTDOWN), 10);
    ck_assert_uint_eq(registry_buckets(r), REGISTRY_MIN_BUCKETS);
    for (int i = 0; i < 10; i++)
        conn_free(cs[i]);
    registry_free(r);
}
END_TEST

/* Many threads add, broadcast to, snapshot and remove at once; every
 * snapshot must agree with itself, and nothing may be lost or doubled. */
#define RACE_THREADS 8
#define RACE_ROUNDS 300

struct race {
    struct registry *r;
    int index;
    atomic_int *bad;
};

static void *race_main(void *arg)
{
    struct race *ra = arg;
    struct event *e = mkevent("race");
    for (int i = 0; i < RACE_ROUNDS; i++) {
        char name[16];
        snprintf(name, sizeof name, "u%d", ra->index);   /* displays: newest wins */
        struct conn *c = conn_create(ra->index % 2 ? CONN_ADMIN : CONN_DISPLAY, name, NULL, false);
        if (registry_add(ra->r, c) != 0)
            atomic_fetch_add(ra->bad, 1);
        registry_broadcast(ra->r, NULL, e);
        struct registry_snapshot s;
        if (registry_snapshot(ra->r, &s) == 0) {
            if (s.admin_count + s.display_count != s.count)
                atomic_fetch_add(ra->bad, 1);
            registry_snapshot_release(&s);
        }
        bool closing;
        drain(c, &closing);
        bool removed = i % 2 ? registry_remove_token(ra->r, c->token, CLOSE_DISCONNECT_ROUTE)
                             : registry_remove(ra->r, c, CLOSE_CLIENT_CLOSED);
        /* Not removed by us only if other threads' broadcasts overflowed
         * its queue while this thread was descheduled. */
        if ((!removed && c->reason != CLOSE_SLOW_CONSUMER) ||
            registry_remove(ra->r, c, CLOSE_CLIENT_CLOSED))
            atomic_fetch_add(ra->bad, 1);
        conn_free(c);
    }
    event_unref(e);
    return NULL;
}

START_TEST(registry_concurrency)
{
    struct registry *r = registry_create(RACE_THREADS + 1, 0, 0);
    atomic_int bad = 0;
    pthread_t t[RACE_THREADS];
    struct race ra[RACE_THREADS];
    for (int i = 0; i < RACE_THREADS; i++) {
        ra[i] = (struct race){ r, i, &bad };
        pthread_create(&t[i], NULL, race_main, &ra[i]);
    }
    for (int i = 0; i < RACE_THREADS; i++)
        pthread_join(t[i], NULL);
    ck_assert_int_eq(atomic_load(&bad), 0);
    ck_assert_uint_eq(registry_count(r), 0);
    registry_free(r);
}
END_TEST

START_TEST(registry_display_takeover)
{
    /* A display's name is no credential: a new stream replaces the live
     * one only with the key, the same client id, or a stale live one. */
    struct registry *r = registry_create(10, 0, 1);
    struct conn *live = conn_create(CONN_DISPLAY, "lobby", "kiosk-a", true);
    snprintf(live->addr, sizeof live->addr, "192.0.2.1");
    ck_assert_int_eq(registry_add(r, live), 0);
    static const char *const others[] = { NULL, "kiosk-b", "kiosk-a-but-longer" };
    for (size_t i = 0; i < 3; i++) {
        struct conn *c = conn_create(CONN_DISPLAY, "lobby", others[i], false);
        ck_assert_int_eq(registry_add(r, c), REGISTRY_CONFLICT);
        ck_assert(registry_contains(r, live));
        ck_assert_int_eq(live->reason, CLOSE_NONE);
        bool closing;
        ck_assert_uint_eq(drain(live, &closing), 0);
        ck_assert(!closing);                               /* not even woken */
        conn_free(c);
    }
    struct registry_snapshot snap;
    ck_assert_int_eq(registry_snapshot(r, &snap), 0);
    ck_assert_uint_eq(snap.count, 1);
    ck_assert_uint_eq(snap.closed_by_reason[CLOSE_SUPERSEDED], 0);
    registry_snapshot_release(&snap);
    /* the conflict comes first: from the same address past its limit too */
    struct conn *same_addr = conn_create(CONN_DISPLAY, "lobby", NULL, false);
    snprintf(same_addr->addr, sizeof same_addr->addr, "192.0.2.1");
    ck_assert_int_eq(registry_add(r, same_addr), REGISTRY_CONFLICT);
    conn_free(same_addr);

    /* the same browser (client id) replaces it */
    struct conn *reload = conn_create(CONN_DISPLAY, "lobby", "kiosk-a", true);
    ck_assert_int_eq(registry_add(r, reload), 1);
    ck_assert_int_eq(live->reason, CLOSE_SUPERSEDED);
    /* the key replaces it, whatever the client id */
    struct conn *keyed = conn_create(CONN_DISPLAY, "lobby", "kiosk-b", false);
    keyed->keyed = true;
    ck_assert_int_eq(registry_add(r, keyed), 1);
    ck_assert_int_eq(reload->reason, CLOSE_SUPERSEDED);
    /* a keyed stream is no more anyone's to take than another */
    struct conn *thief = conn_create(CONN_DISPLAY, "lobby", NULL, false);
    ck_assert_int_eq(registry_add(r, thief), REGISTRY_CONFLICT);
    conn_free(thief);
    /* a stale one (acked, silent) is nobody's to keep */
    struct conn *acked = conn_create(CONN_DISPLAY, "hall", "kiosk-c", true);
    ck_assert_int_eq(registry_add(r, acked), 0);
    struct conn *early = conn_create(CONN_DISPLAY, "hall", NULL, false);
    ck_assert_int_eq(registry_add(r, early), REGISTRY_CONFLICT);
    conn_free(early);
    ck_assert(registry_set_stale(r, acked));
    struct conn *after = conn_create(CONN_DISPLAY, "hall", NULL, false);
    ck_assert_int_eq(registry_add(r, after), 1);
    ck_assert_int_eq(acked->reason, CLOSE_SUPERSEDED);
    /* admins keep their rule: the same user and client id */
    struct conn *a1 = conn_create(CONN_ADMIN, "alice", "tab", false);
    struct conn *a2 = conn_create(CONN_ADMIN, "alice", "tab", false);
    ck_assert_int_eq(registry_add(r, a1), 0);
    ck_assert_int_eq(registry_add(r, a2), 1);
    registry_remove_all(r, CLOSE_SHUTDOWN);
    struct conn *all[] = { live, reload, keyed, acked, after, a1, a2 };
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        conn_free(all[i]);
    registry_free(r);
}
END_TEST

Suite *registry_suite(void)
{
    Suite *s = suite_create("registry");
    UNIT_TEST(s, registry_basics);
    UNIT_TEST(s, registry_slow_consumer);
    UNIT_TEST(s, registry_broadcast_in_batches);
    UNIT_TEST(s, registry_superseding);
    UNIT_TEST(s, registry_display_takeover);
    UNIT_TEST(s, registry_closed_ring);
    UNIT_TEST(s, registry_tables_shrink);
    UNIT_TEST(s, registry_concurrency);
    return s;
}

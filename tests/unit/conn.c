/* tests/unit/conn.c -- one connection and its queue (src/conn.c). */
#include "unit.h"

#include "conn.h"
#include "event.h"

/* A stream's queue: CONN_QUEUE_INLINE slots in the connection, grown in
 * a block of its own past them (order kept across a wrapped ring), full
 * at CONN_QUEUE_MAX, and back inside once the burst has been drained. */
START_TEST(conn_queue_slots_follow_the_load)
{
    enum { NEV = CONN_QUEUE_MAX + 3 };
    struct conn *c = mk(CONN_ADMIN, "q");
    struct event *ev[NEV];
    for (int i = 0; i < NEV; i++) {
        char name[16];
        snprintf(name, sizeof name, "e%d", i);
        ev[i] = mkevent(name);
    }
    bool closing;
    struct event *out[CONN_QUEUE_MAX];
    ck_assert_uint_eq(conn_queue_slots(c), CONN_QUEUE_INLINE);
    ck_assert_uint_eq(drain(c, &closing), 0);

    /* keeping up: the slots inside are enough */
    for (int i = 0; i < CONN_QUEUE_INLINE; i++)
        ck_assert_int_eq(conn_enqueue(c, ev[i]), 0);
    ck_assert_uint_eq(conn_queue_slots(c), CONN_QUEUE_INLINE);
    ck_assert_uint_eq(drain(c, &closing), CONN_QUEUE_INLINE);
    ck_assert_uint_eq(conn_queue_slots(c), CONN_QUEUE_INLINE);

    /* wrap the ring, then grow it: events come out in order */
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(conn_enqueue(c, ev[i]), 0);
    ck_assert_uint_eq(conn_take(c, out, 3, &closing), 3);
    for (int i = 0; i < 3; i++)
        event_unref(out[i]);
    for (int i = 5; i < 3 + CONN_QUEUE_MAX; i++) {
        ck_assert_int_eq(conn_enqueue(c, ev[i]), 0);
        if (i == 3 + CONN_QUEUE_INLINE)
            ck_assert_uint_eq(conn_queue_slots(c), 2 * CONN_QUEUE_INLINE);
    }
    ck_assert_uint_eq(conn_queue_depth(c), CONN_QUEUE_MAX);
    ck_assert_uint_eq(conn_queue_slots(c), CONN_QUEUE_MAX);
    ck_assert_int_eq(conn_enqueue(c, ev[NEV - 1]), -1);          /* full */
    ck_assert_uint_eq(conn_take(c, out, CONN_QUEUE_MAX, &closing), CONN_QUEUE_MAX);
    for (int i = 0; i < CONN_QUEUE_MAX; i++) {
        ck_assert_str_eq(event_text(out[i]), event_text(ev[i + 3]));
        event_unref(out[i]);
    }
    ck_assert_uint_eq(conn_queue_slots(c), CONN_QUEUE_INLINE);   /* burst over */

    /* partly taken: the grown block stays until the queue is empty */
    for (int i = 0; i < CONN_QUEUE_INLINE + 8; i++)
        ck_assert_int_eq(conn_enqueue(c, ev[i]), 0);
    ck_assert_uint_eq(conn_take(c, out, 4, &closing), 4);
    for (int i = 0; i < 4; i++)
        event_unref(out[i]);
    ck_assert_uint_eq(conn_queue_slots(c), 2 * CONN_QUEUE_INLINE);
    /* and what is left is dropped with the connection */
    conn_free(c);
    for (int i = 0; i < NEV; i++)
        event_unref(ev[i]);
}
END_TEST

Suite *conn_suite(void)
{
    Suite *s = suite_create("conn");
    UNIT_TEST(s, conn_queue_slots_follow_the_load);
    return s;
}

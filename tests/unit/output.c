/* tests/unit/output.c -- one stream's output (src/output.c), over a real
 * socket pair whose reader is this test. */
#include "unit.h"

#include <fcntl.h>
#include <sys/socket.h>

#include "output.h"

/* A connection whose output goes to sv[0]; the test reads sv[1]. */
static struct conn *connected(int sv[2])
{
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    int small = 4096;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
    struct conn *c = mk(CONN_ADMIN, "out");
    c->io.fd = sv[0];
    c->io.request_id = 1;
    output_init(c);
    return c;
}

/* Reads everything the socket holds now; returns the byte count. */
static size_t read_all(int fd)
{
    char buf[65536];
    size_t total = 0;
    ssize_t n;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    while ((n = read(fd, buf, sizeof buf)) > 0)
        total += (size_t)n;
    return total;
}

START_TEST(output_counts_events_once_written)
{
    int sv[2];
    struct conn *c = connected(sv);
    struct output_flushed f;
    struct event *e = mkevent("small");
    struct event *evs[2] = { event_ref(e), event_ref(e) };
    ck_assert_int_eq(output_events(c, evs, 2), 0);
    ck_assert(output_waiting(c));
    ck_assert_int_eq(output_flush(c, 1000, &f), 0);
    ck_assert_uint_eq(f.events, 2);
    ck_assert(!f.started_waiting && !f.stopped_waiting);
    ck_assert(!output_waiting(c));
    ck_assert_ptr_null(c->io.out.data);                 /* idle: no buffer kept */
    ck_assert_uint_eq(atomic_load(&c->events_sent), 2);
    size_t bytes = 2 * (8 + event_len(e));
    ck_assert_uint_eq(atomic_load(&c->bytes_sent), bytes);
    ck_assert_uint_eq(read_all(sv[1]), bytes);
    event_unref(e);

    /* an event without an id (the monitor's own) is written, and counts nowhere */
    struct sse_event own = { .name = "summary", .data = "{}", .data_len = 2 };
    struct event *o = event_create(&own);
    ck_assert(!event_published(o));
    size_t own_bytes = 8 + event_len(o);
    struct event *mine[1] = { o };                      /* output_events takes it */
    ck_assert_int_eq(output_events(c, mine, 1), 0);
    ck_assert_uint_eq(output_unsent_events(c), 0);
    ck_assert_int_eq(output_flush(c, 1500, &f), 0);
    ck_assert_uint_eq(f.events, 0);
    ck_assert_uint_eq(atomic_load(&c->events_sent), 2);
    ck_assert_uint_eq(read_all(sv[1]), own_bytes);
    bytes += own_bytes;

    /* more than the socket takes: the events count only once all is read */
    enum { BIG = 60000 };
    char *data = malloc(BIG);
    memset(data, 'x', BIG);
    struct sse_event big = { .id = 7, .name = "big", .data = data, .data_len = BIG };
    struct event *b = event_create(&big);
    free(data);
    struct event *one[1] = { b };
    ck_assert_int_eq(output_events(c, one, 1), 0);
    ck_assert_uint_eq(output_unsent_events(c), 1);
    ck_assert_int_eq(output_flush(c, 2000, &f), 0);
    ck_assert_uint_eq(f.events, 0);
    ck_assert_uint_eq(output_unsent_events(c), 1);      /* written in part: not got */
    ck_assert(f.started_waiting);
    ck_assert_int_eq(c->io.stalled_since, 2000);
    ck_assert(output_waiting(c));
    ck_assert_int_eq(output_flush(c, 3000, &f), 0);     /* nothing moved */
    ck_assert(!f.started_waiting && !f.stopped_waiting);
    ck_assert_int_eq(c->io.stalled_since, 2000);        /* stalled since then */
    size_t got = 0;
    while (output_waiting(c)) {
        got += read_all(sv[1]);
        ck_assert_int_eq(output_flush(c, 4000, &f), 0);
    }
    got += read_all(sv[1]);
    ck_assert(f.stopped_waiting);
    ck_assert_uint_eq(f.events, 1);
    ck_assert_uint_eq(output_unsent_events(c), 0);
    ck_assert_int_eq(c->io.stalled_since, 0);
    ck_assert_uint_eq(atomic_load(&c->events_sent), 3);
    ck_assert_uint_eq(got, atomic_load(&c->bytes_sent) - bytes);

    /* the end of the response, then the peer gone: the flush fails */
    ck_assert_int_eq(output_end(c), 0);
    ck_assert_uint_eq(output_pending(c), 24);
    close(sv[1]);
    ck_assert_int_eq(output_flush(c, 5000, &f), -1);
    close(sv[0]);
    conn_free(c);
}
END_TEST

START_TEST(output_refuses_past_its_cap)
{
    int sv[2];
    struct conn *c = connected(sv);
    struct output_flushed f;
    enum { SIZE = 64000 };
    char *data = malloc(SIZE);
    memset(data, 'y', SIZE);
    struct sse_event ev = { .id = 8, .name = "y", .data = data, .data_len = SIZE };
    struct event *e = event_create(&ev);
    free(data);
    int rc = 0;
    size_t n = 0;
    while (rc == 0 && n < 100) {
        struct event *one[1] = { event_ref(e) };
        rc = output_events(c, one, 1);
        n++;
    }
    ck_assert_int_eq(rc, -1);                           /* nobody reads: full */
    /* what was framed and not written: all but the one refused (and the
     * bytes of the first that the socket took did not make it whole) */
    ck_assert_uint_eq(output_unsent_events(c), n - 1);
    ck_assert_int_eq(output_flush(c, 1, &f), 0);
    ck_assert_uint_eq(output_unsent_events(c) + f.events, n - 1);
    ck_assert_uint_le(output_pending(c), OUTPUT_CAP);
    ck_assert_uint_gt(output_pending(c), OUTPUT_MAX - SIZE);
    ck_assert_int_eq(output_proto(c, "x", -1), -1);     /* an event that was not built */
    ck_assert_int_eq(output_flush(c, 1, &f), 0);        /* what is there still goes */
    event_unref(e);
    close(sv[1]);
    close(sv[0]);
    conn_free(c);
}
END_TEST

Suite *output_suite(void)
{
    Suite *s = suite_create("output");
    UNIT_TEST(s, output_counts_events_once_written);
    UNIT_TEST(s, output_refuses_past_its_cap);
    return s;
}

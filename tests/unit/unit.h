/* unit.h -- what the unit suites share: Check, the usual headers, one
 * suite constructor per module (tests/unit/<module>.c), and a few helpers
 * (helpers.c).
 *
 * A unit test exercises one module of src/ through its header, in this
 * process, without a socket or a thread it did not start itself.  Put a
 * test in the file of the module it tests; see tests/README. */
#ifndef SSE_TESTS_UNIT_H
#define SSE_TESTS_UNIT_H

#include "autoconf.h"

#include <check.h>
#include <errno.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "event.h"

/* One per module, in the order the runner runs them. */
#define UNIT_SUITES(X) \
    X(buf) X(fcgi_record) X(fcgi_request) X(filter) X(output) X(pace) X(proto) X(sse) X(jsonw) X(window) X(token) X(sha256) X(timeutil) X(routes) X(rconn) X(json_strict) X(body) X(options) X(listen) \
    X(displays) X(conn) X(closed_log) X(feed) X(registry) X(hub) X(monitor) X(mirror) X(history) X(stats) \
    X(cluster_wire)

#define UNIT_DECLARE(name) Suite *name##_suite(void);
UNIT_SUITES(UNIT_DECLARE)
#undef UNIT_DECLARE

/* Each test is a test case of its own, named after its function, so that
 * CK_RUN_CASE=<name> runs it alone.  The timeout covers the slowest ones
 * (thousands of connections) under the sanitizers. */
#define UNIT_TIMEOUT 60
#define UNIT_TEST(suite, fn) do {                  \
        TCase *tc_ = tcase_create(#fn);            \
        tcase_set_timeout(tc_, UNIT_TIMEOUT);      \
        tcase_add_test(tc_, fn);                   \
        suite_add_tcase((suite), tc_);             \
    } while (0)

/* A connection of type t named name, without client id or acks; fails the
 * test when out of memory.  Caller frees. */
struct conn *mk(enum conn_type t, const char *name);

/* A broadcast event named name with data {} and id 1.  Caller unrefs. */
struct event *mkevent(const char *name);

/* Takes and drops everything queued on c, as its loop would; returns how
 * many events there were and sets *closing. */
size_t drain(struct conn *c, bool *closing);

#endif

/* routes.h -- route matching: the path as each web server passes it, the
 * route it names, and a stream's query string.
 *
 * Pure: no FastCGI types, no I/O, no locks, so tests reach every branch
 * without a server.  The handlers that use this are in handlers.c. */
#ifndef SSE_ROUTES_H
#define SSE_ROUTES_H

#include <stdbool.h>
#include <stddef.h>

#define ROUTE_PATH_MAX 2048
#define NAME_MAX_LEN 64             /* display names and event types */

enum route_id {
    ROUTE_NOT_FOUND,
    ROUTE_ADMIN_STREAM,             /* GET  {prefix}/admin */
    ROUTE_DISPLAY_STREAM,           /* GET  {prefix}/display/<name> */
    ROUTE_DISCONNECT,               /* POST {prefix}/disconnect */
    ROUTE_STATS,                    /* GET  {prefix}/stats */
    ROUTE_TEST,                     /* POST {prefix}/test */
    ROUTE_PUBLISH,                  /* POST {prefix}/publish */
    ROUTE_ACK,                      /* POST {prefix}/ack */
    ROUTE_CLOSED,                   /* GET  {prefix}/closed */
    ROUTE_CONNECTION,               /* DELETE {prefix}/connections/<public id> */
    ROUTE_METRICS,                  /* GET  {prefix}/metrics */
    ROUTE_HEALTH                    /* GET  {prefix}/health */
};

struct route {
    enum route_id id;
    const char *allow;              /* the one method it takes, for 405 */
    bool admin;                     /* needs an authenticated user */
    bool bad_name;                  /* a named route with an invalid name */
    char name[NAME_MAX_LEN + 1];    /* ROUTE_DISPLAY_STREAM: the display;
                                       ROUTE_CONNECTION: the public id */
};

/* What a stream's query string asks for. */
/* The longest query value, decoded. */
#define QUERY_VALUE_MAX (NAME_MAX_LEN * 3)

struct stream_query {
    bool ack;                       /* ack=1: acknowledged liveness */
    bool monitor;                   /* monitor=1: the pushed monitor (admin) */
    char client[NAME_MAX_LEN + 1];  /* client=<id>, "" if absent */
    bool has_last_event_id;         /* lastEventId=<n> */
    unsigned long long last_event_id;
};

/* The request path as the web server saw it, without query string, from
 * the FastCGI params (any may be NULL): nginx's DOCUMENT_URI, else
 * lighttpd's SCRIPT_NAME + PATH_INFO, else REQUEST_URI with its query cut
 * and %XX decoded.  Writes at most cap bytes with NUL into buf.  Returns buf,
 * or NULL if the path is missing, too long or decodes to a NUL byte. */
const char *routes_path(const char *document_uri, const char *script_name,
                        const char *path_info, const char *request_uri,
                        char *buf, size_t cap);

/* Matches path against the routes under prefix (no trailing slash; "" for
 * the root).  Fills *r; r->id is ROUTE_NOT_FOUND if nothing matches. */
void routes_match(const char *prefix, const char *path, struct route *r);

/* Parses a stream's QUERY_STRING (NULL or "" allowed; %XX and '+'
 * decoded; unknown keys ignored; the last of a repeated key wins).  Returns
 * 0, or -1 with *err for a 400: ack or monitor not 0/1/true/false, client
 * not a valid name, lastEventId not a decimal number. */
int routes_stream_query(const char *qs, struct stream_query *q, const char **err);

#define STATS_PAGE_MAX 1000          /* limit= at most */
#define STATS_PAGE_DEFAULT 100      /* a page without limit= */
#define STATS_TEXT_MAX 128          /* q= at most, decoded */

/* What GET stats asks for. */
struct stats_query {
    bool summary;                   /* summary=1: the counts only */
    bool paged;                     /* any of limit, offset, type, state, q */
    size_t limit, offset;
    int type;                       /* -1: both, else enum conn_type */
    int state;                      /* -1: both, 0: live, 1: stale */
    char text[STATS_TEXT_MAX + 1];  /* q=, "" if absent */
};

/* Parses the stats route's QUERY_STRING, as routes_stream_query.  Returns
 * 0, or -1 with *err for a 400: summary not a flag, limit not 1-1000,
 * offset not a number, type not admin/display, state not live/stale, q
 * longer than 128 characters. */
int routes_stats_query(const char *qs, struct stats_query *q, const char **err);

/* A decimal number as a client sends it (an event id in Last-Event-ID or
 * ?lastEventId=, a Content-Length): one or more digits, nothing else (no
 * sign, no space), within 64 bits.  Returns true and sets *v, or false
 * (NULL or "" included). */
bool routes_decimal(const char *s, unsigned long long *v);

/* True if s (len bytes) is 1-64 characters of [A-Za-z0-9._-]. */
bool routes_valid_name(const char *s, size_t len);

/* The value of parameter name in a query string (NULL allowed), %XX and
 * '+' decoded, into out (cap bytes with its NUL; the last of a repeated
 * parameter counts).  Returns its length, ROUTES_QUERY_ABSENT, or
 * ROUTES_QUERY_BAD (a bad escape, a NUL, or longer than cap - 1: out is
 * then empty).  For a display's key; the stream's other parameters are
 * routes_stream_query()'s. */
#define ROUTES_QUERY_ABSENT (-1)
#define ROUTES_QUERY_BAD (-2)
long routes_query_value(const char *qs, const char *name, char *out, size_t cap);

#endif

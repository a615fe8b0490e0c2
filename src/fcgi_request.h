/* fcgi_request.h -- is a FastCGI request whole, and is it one?
 *
 * The intake (intake.h) hands a connection to a worker only once its whole
 * request is in the socket, so that libfcgi, which reads it with blocking
 * reads, never waits on a peer.  This reads the bytes buffered so far
 * (peeked, not consumed) as the records of one request:
 *
 *   BEGIN_REQUEST (responder role), PARAMS records up to an empty one, then
 *   STDIN records up to an empty one,
 *
 * all on the BEGIN_REQUEST's request id.  It is stricter than libfcgi on
 * purpose: anything else -- another request id, a management record (id 0),
 * another record type, a second BEGIN_REQUEST, a name-value pair that does
 * not fit its PARAMS stream, padding after a BEGIN_REQUEST or an empty
 * record -- is not a request any web server sends, and libfcgi would skip,
 * misread or mishandle it (a management record of an unknown type leaks 48
 * bytes in libfcgi 2.4.2; it reads the next header inside such padding).  A request whose body is
 * refused by its length needs no body to be there: once the params are
 * whole, a CONTENT_LENGTH above body_max, or more than body_max bytes of
 * STDIN, make the request whole enough (the handler answers 413 without
 * waiting for more).
 *
 * Pure: no I/O, no locks, no allocation. */
#ifndef SSE_FCGI_REQUEST_H
#define SSE_FCGI_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The params of one request, at most (nginx sends a few KiB; headers past
 * its own limits never reach us). */
#define FCGI_REQUEST_PARAMS_MAX (64 * 1024)

enum fcgi_request_state {
    FCGI_REQUEST_PARTIAL,           /* a request so far: more bytes are needed */
    FCGI_REQUEST_WHOLE,             /* all of it that a handler reads is there */
    FCGI_REQUEST_INVALID            /* not one request as web servers send it */
};

struct fcgi_request_info {
    uint16_t request_id;            /* once BEGIN_REQUEST was read */
    bool keep_conn;                 /* the web server asked for FCGI_KEEP_CONN */
    bool params_whole;              /* the empty PARAMS record was read */
    bool nul_param;                 /* a param name or value holds a NUL byte */
    bool has_length;                /* CONTENT_LENGTH was a decimal number */
    uint64_t content_length;
    size_t params_len;              /* bytes of the PARAMS stream */
    size_t stdin_len;               /* bytes of STDIN read so far */
    size_t used;                    /* WHOLE: bytes up to the end of what was needed */
    const char *why;                /* INVALID: what is wrong (static text) */
};

/* Reads the len bytes at buf, the start of a connection, as the records
 * of one request (see above).  Fills *info.  Returns PARTIAL, WHOLE or
 * INVALID; a request that would need more than cap bytes buffered is
 * INVALID (params over FCGI_REQUEST_PARAMS_MAX, or padding games). */
enum fcgi_request_state fcgi_request_scan(const uint8_t *buf, size_t len, size_t body_max,
                                          size_t cap, struct fcgi_request_info *info);

/* Bytes a request may need buffered with the given largest body: the cap
 * to pass above, and the most the intake peeks at once. */
#define FCGI_REQUEST_CAP(body_max) (FCGI_REQUEST_PARAMS_MAX + (body_max) + 16384)

#endif

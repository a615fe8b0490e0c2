/* fcgi_client.h -- a small FastCGI client for the tests: it speaks to the
 * responder exactly as nginx or lighttpd would, over a real socket. */
#ifndef SSE_FCGI_CLIENT_H
#define SSE_FCGI_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

struct fcgi_param {
    const char *name;
    const char *value;
};

struct fcgi_response {
    char *out;                  /* FCGI_STDOUT bytes so far, NUL-terminated */
    size_t len;
    bool ended;                 /* FCGI_END_REQUEST seen */
    bool closed;                /* the responder closed the connection */
};

/* Connects to a unix socket; returns the fd or -1. */
int fcgi_connect(const char *path);

/* Sends BEGIN_REQUEST (responder role), the params, and the body as STDIN
 * (body may be NULL), each stream ended by an empty record.  Returns 0 or -1. */
int fcgi_send(int fd, const struct fcgi_param *params, size_t nparams,
              const char *body, size_t body_len);

/* Writes len raw bytes (records built by hand, or part of one).  Returns 0
 * or -1. */
int fcgi_send_raw(int fd, const void *buf, size_t len);

/* Appends a record of type on request id with content (len bytes, at most
 * 65535) and pad bytes of padding to out, which has room.  Returns the
 * bytes appended. */
size_t fcgi_record(unsigned char *out, int type, int id, const void *content, size_t len,
                   unsigned pad);

/* Appends a name-value pair (lengths as FastCGI encodes them) to out, which
 * has room; name and value may hold any bytes.  Returns the bytes appended. */
size_t fcgi_pair(unsigned char *out, const char *name, size_t nlen, const char *value,
                 size_t vlen);

/* Reads records into r until END_REQUEST, EOF, `until` appears in the
 * output (if not NULL), or timeout_ms passes.  Returns 0 if it got what it
 * waited for (`until`, or else the end of the response), 1 if not (time
 * ran out, or the response ended without `until`), -1 on a protocol or
 * socket error. */
int fcgi_read(int fd, struct fcgi_response *r, const char *until, int timeout_ms);

void fcgi_response_free(struct fcgi_response *r);

/* The HTTP status in the response headers ("Status: NNN"), or 200 if the
 * headers have no Status line, or -1 if the headers are incomplete. */
int fcgi_status(const struct fcgi_response *r);

/* The body after the blank line, or NULL if headers are incomplete. */
const char *fcgi_body(const struct fcgi_response *r);

#endif

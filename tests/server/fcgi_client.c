/* fcgi_client.c -- a small FastCGI client for the tests. */
#include "autoconf.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fcgi_client.h"

enum { BEGIN_REQUEST = 1, END_REQUEST = 3, PARAMS = 4, STDIN = 5, STDOUT = 6, STDERR = 7 };

int fcgi_connect(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    strncpy(sa.sun_path, path, sizeof sa.sun_path - 1);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int record(int fd, int type, const void *content, size_t len)
{
    unsigned char h[8] = { 1, (unsigned char)type, 0, 1,
                           (unsigned char)(len >> 8), (unsigned char)len, 0, 0 };
    if (write_all(fd, h, sizeof h) < 0)
        return -1;
    return len ? write_all(fd, content, len) : 0;
}

/* Sends data as records of at most 65535 bytes, then an empty one. */
static int stream(int fd, int type, const char *data, size_t len)
{
    while (len) {
        size_t n = len > 65535 ? 65535 : len;
        if (record(fd, type, data, n) < 0)
            return -1;
        data += n;
        len -= n;
    }
    return record(fd, type, NULL, 0);
}

static size_t put_len(unsigned char *p, size_t n)
{
    if (n < 128) {
        p[0] = (unsigned char)n;
        return 1;
    }
    p[0] = (unsigned char)((n >> 24) | 0x80);
    p[1] = (unsigned char)(n >> 16);
    p[2] = (unsigned char)(n >> 8);
    p[3] = (unsigned char)n;
    return 4;
}

int fcgi_send_raw(int fd, const void *buf, size_t len)
{
    return write_all(fd, buf, len);
}

size_t fcgi_record(unsigned char *out, int type, int id, const void *content, size_t len,
                   unsigned pad)
{
    unsigned char h[8] = { 1, (unsigned char)type, (unsigned char)(id >> 8), (unsigned char)id,
                           (unsigned char)(len >> 8), (unsigned char)len, (unsigned char)pad, 0 };
    memcpy(out, h, 8);
    if (len)
        memcpy(out + 8, content, len);
    memset(out + 8 + len, 0, pad);
    return 8 + len + pad;
}

size_t fcgi_pair(unsigned char *out, const char *name, size_t nlen, const char *value,
                 size_t vlen)
{
    size_t n = put_len(out, nlen);
    n += put_len(out + n, vlen);
    memcpy(out + n, name, nlen);
    memcpy(out + n + nlen, value, vlen);
    return n + nlen + vlen;
}

int fcgi_send(int fd, const struct fcgi_param *params, size_t nparams,
              const char *body, size_t body_len)
{
    unsigned char begin[8] = { 0, 1 /* responder */, 0 /* no keep-conn */ };
    if (record(fd, BEGIN_REQUEST, begin, sizeof begin) < 0)
        return -1;
    size_t cap = 64, len = 0;
    for (size_t i = 0; i < nparams; i++)
        cap += 8 + strlen(params[i].name) + strlen(params[i].value);
    unsigned char *buf = malloc(cap);
    if (!buf)
        return -1;
    for (size_t i = 0; i < nparams; i++) {
        size_t nl = strlen(params[i].name), vl = strlen(params[i].value);
        len += put_len(buf + len, nl);
        len += put_len(buf + len, vl);
        memcpy(buf + len, params[i].name, nl);
        len += nl;
        memcpy(buf + len, params[i].value, vl);
        len += vl;
    }
    int rc = stream(fd, PARAMS, (char *)buf, len);
    free(buf);
    if (rc < 0)
        return -1;
    return stream(fd, STDIN, body, body ? body_len : 0);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads exactly len bytes before the deadline.  Returns 1, 0 on EOF before
 * any byte, -2 on timeout, -1 on error. */
static int read_exact(int fd, unsigned char *buf, size_t len, long long deadline)
{
    size_t got = 0;
    while (got < len) {
        long long left = deadline - now_ms();
        if (left <= 0)
            return -2;
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int rc = poll(&p, 1, (int)left);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0)
            return -1;
        if (rc == 0)
            return -2;
        ssize_t n = read(fd, buf + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == ECONNRESET && got == 0 ? 0 : -1;
        if (n == 0)
            return got == 0 ? 0 : -1;
        got += (size_t)n;
    }
    return 1;
}

int fcgi_read(int fd, struct fcgi_response *r, const char *until, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    for (;;) {
        if (until && r->out && strstr(r->out, until))
            return 0;
        if (r->ended || r->closed)
            return until ? 1 : 0;
        unsigned char h[8];
        int rc = read_exact(fd, h, sizeof h, deadline);
        if (rc == -2)
            return 1;
        if (rc == 0) {
            r->closed = true;
            continue;
        }
        if (rc < 0 || h[0] != 1)
            return -1;
        size_t clen = ((size_t)h[4] << 8) | h[5], plen = h[6];
        unsigned char *content = malloc(clen + plen + 1);
        if (!content)
            return -1;
        if (clen + plen && read_exact(fd, content, clen + plen, deadline + 5000) != 1) {
            free(content);
            return -1;
        }
        if (h[1] == STDOUT && clen) {
            char *o = realloc(r->out, r->len + clen + 1);
            if (!o) {
                free(content);
                return -1;
            }
            memcpy(o + r->len, content, clen);
            r->len += clen;
            o[r->len] = '\0';
            r->out = o;
        } else if (h[1] == END_REQUEST) {
            r->ended = true;
        }
        free(content);
    }
}

void fcgi_response_free(struct fcgi_response *r)
{
    free(r->out);
    memset(r, 0, sizeof *r);
}

const char *fcgi_body(const struct fcgi_response *r)
{
    if (!r->out)
        return NULL;
    const char *p = strstr(r->out, "\r\n\r\n");
    return p ? p + 4 : NULL;
}

int fcgi_status(const struct fcgi_response *r)
{
    if (!fcgi_body(r))
        return -1;
    const char *s = strstr(r->out, "Status: ");
    if (!s || s > fcgi_body(r))
        return 200;
    return atoi(s + 8);
}

/* fuzz_fcgi_request.c -- the intake's record and param parser,
 * fcgi_request_scan(), over what a peer may send on a new connection, held
 * against libfcgi itself.  Input: the connection's bytes.
 *
 * Promises checked:
 *   - the answer is PARTIAL, WHOLE or INVALID, with a reason exactly when
 *     INVALID; more bytes never undo WHOLE or INVALID (a prefix's answer
 *     stands);
 *   - its own reading of the records, written out again here: the request
 *     id, the params (the pairs of the PARAMS stream, across records), a NUL
 *     in any name or value, CONTENT_LENGTH (the first), the STDIN bytes;
 *   - what it calls WHOLE, libfcgi reads without waiting for more bytes
 *     (the socket stays open, reads time out after 200 ms) and without an
 *     error or a leak: FCGX_Accept_r on the connection succeeds, its params
 *     are ours (unless a NUL makes C strings of them differ: then the request
 *     is marked), and the body it reads is the STDIN we counted. */
#include "autoconf.h"

#include <fcgiapp.h>
#include <fastcgi.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "fcgi_request.h"
#include "fuzz.h"

#define BODY_MAX 512                /* small, so that inputs reach past it */
#define CAP FCGI_REQUEST_CAP(BODY_MAX)
#define PAIRS_MAX 256

struct ref {
    bool whole;
    int id;
    uint8_t params[8192];           /* the PARAMS stream, concatenated */
    size_t plen;
    bool params_end;
    uint8_t body[8192];             /* the STDIN content seen */
    size_t blen;
    bool body_end;
};

/* Reads the records as a reference: what a whole request holds.  Only for
 * inputs the scanner calls WHOLE, so the structure is known to be sound;
 * the content is read again here without the scanner's state machine. */
static void ref_read(const uint8_t *buf, size_t len, struct ref *r)
{
    memset(r, 0, sizeof *r);
    size_t pos = 0;
    while (pos + 8 <= len) {
        const uint8_t *h = buf + pos;
        size_t clen = (size_t)h[4] << 8 | h[5];
        size_t avail = len - pos - 8 < clen ? len - pos - 8 : clen;
        if (h[1] == FCGI_BEGIN_REQUEST) {
            r->id = h[2] << 8 | h[3];
        } else if (h[1] == FCGI_PARAMS && !r->params_end) {
            if (!clen)
                r->params_end = true;
            FUZZ_CHECK(r->plen + avail <= sizeof r->params);
            memcpy(r->params + r->plen, h + 8, avail);
            r->plen += avail;
        } else if (h[1] == FCGI_STDIN && r->params_end) {
            if (!clen) {
                r->body_end = true;
                return;
            }
            FUZZ_CHECK(r->blen + avail <= sizeof r->body);
            memcpy(r->body + r->blen, h + 8, avail);
            r->blen += avail;
        }
        pos += 8 + clen + h[6];
    }
}

struct pair {
    const uint8_t *name, *value;
    size_t nlen, vlen;
};

/* The pairs of a PARAMS stream (FastCGI 1.0, 3.4). */
static size_t ref_pairs(const uint8_t *p, size_t n, struct pair *out)
{
    size_t i = 0, k = 0;
    while (i < n && k < PAIRS_MAX) {
        size_t lens[2];
        for (int j = 0; j < 2; j++) {
            FUZZ_CHECK(i < n);
            if (p[i] & 0x80) {
                FUZZ_CHECK(i + 4 <= n);
                lens[j] = (size_t)(p[i] & 0x7f) << 24 | (size_t)p[i + 1] << 16 |
                          (size_t)p[i + 2] << 8 | p[i + 3];
                i += 4;
            } else {
                lens[j] = p[i++];
            }
        }
        FUZZ_CHECK(lens[0] <= n - i && lens[1] <= n - i - lens[0]);
        out[k++] = (struct pair){ p + i, p + i + lens[0], lens[0], lens[1] };
        i += lens[0] + lens[1];
    }
    FUZZ_CHECK(i == n || k == PAIRS_MAX);
    return k;
}

/* Hands the bytes to libfcgi as the intake's workers do, and compares. */
static void against_libfcgi(const uint8_t *data, size_t size, const struct fcgi_request_info *info,
                            const struct ref *r, const struct pair *pairs, size_t npairs)
{
    static int initialised;
    if (!initialised++)
        FUZZ_CHECK(FCGX_Init() == 0);
    int sv[2];
    FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    int big = 1 << 20;
    setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    FUZZ_CHECK(write(sv[1], data, size) == (ssize_t)size);   /* the peer stays: no EOF */
    struct timeval tv = { 0, 200 * 1000 };
    setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    FCGX_Request req;
    FCGX_InitRequest(&req, -1, 0);
    req.ipcFd = sv[0];
    req.keepConnection = 1;
    FUZZ_CHECK(FCGX_Accept_r(&req) == 0);
    FUZZ_CHECK(req.requestId == info->request_id);
    FUZZ_CHECK(req.role == FCGI_RESPONDER);
    FUZZ_CHECK(!req.keepConnection == !info->keep_conn);
    /* FCGI_ROLE, then every pair in order */
    size_t n = 0;
    while (req.envp[n])
        n++;
    FUZZ_CHECK(n == npairs + 1);
    if (!info->nul_param) {
        for (size_t i = 0; i < npairs; i++) {
            const char *e = req.envp[i + 1];
            FUZZ_CHECK(strlen(e) == pairs[i].nlen + 1 + pairs[i].vlen);
            FUZZ_CHECK(memcmp(e, pairs[i].name, pairs[i].nlen) == 0);
            FUZZ_CHECK(e[pairs[i].nlen] == '=');
            FUZZ_CHECK(memcmp(e + pairs[i].nlen + 1, pairs[i].value, pairs[i].vlen) == 0);
        }
    }
    /* The body, as far as a handler reads it: to its end, or body_max + 1. */
    if (!(info->has_length && info->content_length > BODY_MAX)) {
        static char got[BODY_MAX + 2];
        size_t want = r->body_end ? r->blen : BODY_MAX + 1;
        FUZZ_CHECK(want <= r->blen && want <= sizeof got);
        int k = FCGX_GetStr(got, (int)want + (r->body_end ? 1 : 0), req.in);
        FUZZ_CHECK(k == (int)want);
        FUZZ_CHECK(memcmp(got, r->body, want) == 0);
        FUZZ_CHECK(FCGX_GetError(req.in) == 0);
    }
    /* Only now the peer is done: libfcgi's close reads to EOF first (for
     * up to 2 s), and must not wait. */
    shutdown(sv[1], SHUT_WR);
    req.keepConnection = 0;
    FCGX_Finish_r(&req);                /* closes sv[0] */
    close(sv[1]);
}

FUZZ_TARGET(fcgi_request)
{
    struct fcgi_request_info info, part;
    enum fcgi_request_state st = fcgi_request_scan(data, size, BODY_MAX, CAP, &info);
    FUZZ_CHECK(st == FCGI_REQUEST_PARTIAL || st == FCGI_REQUEST_WHOLE ||
               st == FCGI_REQUEST_INVALID);
    FUZZ_CHECK((st == FCGI_REQUEST_INVALID) == (info.why != NULL));
    FUZZ_CHECK(st != FCGI_REQUEST_WHOLE || (info.used <= size && info.params_whole));
    /* a prefix's answer stands once it is WHOLE or INVALID */
    for (size_t k = 0; k <= size; k += 1 + size / 16) {
        enum fcgi_request_state p = fcgi_request_scan(data, k, BODY_MAX, CAP, &part);
        if (p != FCGI_REQUEST_PARTIAL)
            FUZZ_CHECK(p == st);
    }
    if (st != FCGI_REQUEST_WHOLE)
        return 0;

    static struct ref r;
    ref_read(data, info.used, &r);
    FUZZ_CHECK(r.id == info.request_id && r.params_end);
    FUZZ_CHECK(r.plen == info.params_len);
    static struct pair pairs[PAIRS_MAX];
    size_t npairs = ref_pairs(r.params, r.plen, pairs);
    bool nul = false, length_seen = false;
    for (size_t i = 0; i < npairs; i++) {
        nul |= memchr(pairs[i].name, '\0', pairs[i].nlen) || memchr(pairs[i].value, '\0', pairs[i].vlen);
        if (!length_seen && pairs[i].nlen == 14 && memcmp(pairs[i].name, "CONTENT_LENGTH", 14) == 0) {
            length_seen = true;
            bool digits = pairs[i].vlen > 0 && pairs[i].vlen < 21;
            unsigned long long v = 0;
            for (size_t j = 0; digits && j < pairs[i].vlen; j++) {
                unsigned d = (unsigned)(pairs[i].value[j] - '0');
                digits = d <= 9 && v <= (~0ULL - d) / 10;
                v = v * 10 + d;
            }
            FUZZ_CHECK(info.has_length == digits);
            FUZZ_CHECK(!digits || info.content_length == v);
        }
    }
    FUZZ_CHECK(info.nul_param == nul);
    FUZZ_CHECK(length_seen || !info.has_length);
    FUZZ_CHECK(r.blen == info.stdin_len);
    FUZZ_CHECK(r.body_end || r.blen > BODY_MAX || (info.has_length && info.content_length > BODY_MAX));
    if (npairs < PAIRS_MAX)
        against_libfcgi(data, size, &info, &r, pairs, npairs);
    return 0;
}

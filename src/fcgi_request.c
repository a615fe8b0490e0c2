/* fcgi_request.c -- is a FastCGI request whole (see fcgi_request.h). */
#include "autoconf.h"

#include <string.h>

#include <fastcgi.h>

#include "fcgi_request.h"

/* The name-value pairs of the PARAMS stream, read a record at a time (a
 * pair may straddle two records): the state between two calls of
 * pairs_feed(). */
struct pairs {
    enum { P_NAME_LEN, P_VALUE_LEN, P_NAME, P_VALUE } st;
    unsigned lenpos;                /* bytes of a 4-byte length read */
    uint32_t len;                   /* the length being read */
    uint32_t name_len, value_len;
    uint32_t got;                   /* bytes of the name or value read */
    char name[sizeof "CONTENT_LENGTH"];
    bool is_length;                 /* this pair is CONTENT_LENGTH */
    char value[24];                 /* CONTENT_LENGTH's value, if short */
};

/* A pair has ended: CONTENT_LENGTH's value (the first one counts, as
 * libfcgi's FCGX_GetParam finds the first) becomes info's length. */
static void pair_done(struct pairs *p, struct fcgi_request_info *info, bool *seen_length)
{
    if (p->is_length && !*seen_length) {
        *seen_length = true;
        uint64_t v = 0;
        bool ok = p->value_len > 0 && p->value_len < sizeof p->value;
        for (uint32_t i = 0; ok && i < p->value_len; i++) {
            unsigned d = (unsigned)(p->value[i] - '0');
            ok = d <= 9 && v <= (UINT64_MAX - d) / 10;
            v = v * 10 + d;
        }
        info->has_length = ok;
        info->content_length = ok ? v : 0;
    }
    p->st = P_NAME_LEN;
    p->lenpos = 0;
}

/* Reads n bytes of the PARAMS stream. */
static void pairs_feed(struct pairs *p, const uint8_t *c, size_t n,
                       struct fcgi_request_info *info, bool *seen_length)
{
    size_t i = 0;
    while (i < n) {
        switch (p->st) {
        case P_NAME_LEN:
        case P_VALUE_LEN: {
            uint8_t b = c[i++];
            if (p->lenpos == 0 && !(b & 0x80)) {
                p->len = b;
            } else {
                p->len = p->lenpos == 0 ? (uint32_t)(b & 0x7f) : (p->len << 8) | b;
                if (++p->lenpos < 4)
                    break;
            }
            p->lenpos = 0;
            p->got = 0;
            if (p->st == P_NAME_LEN) {
                p->name_len = p->len;
                p->st = P_VALUE_LEN;
                break;
            }
            p->value_len = p->len;
            p->is_length = false;
            p->st = P_NAME;
            if (p->name_len == 0) {
                p->st = P_VALUE;
                if (p->value_len == 0)
                    pair_done(p, info, seen_length);
            }
            break;
        }
        case P_NAME:
        case P_VALUE: {
            uint32_t want = (p->st == P_NAME ? p->name_len : p->value_len) - p->got;
            size_t take = n - i < want ? n - i : want;
            if (memchr(c + i, '\0', take))
                info->nul_param = true;
            if (p->st == P_NAME && p->name_len == sizeof p->name - 1)
                memcpy(p->name + p->got, c + i, take);
            else if (p->st == P_VALUE && p->is_length && p->got + take < sizeof p->value)
                memcpy(p->value + p->got, c + i, take);
            p->got += (uint32_t)take;
            i += take;
            if (p->got < (p->st == P_NAME ? p->name_len : p->value_len))
                break;
            if (p->st == P_NAME) {
                p->is_length = p->name_len == sizeof p->name - 1 &&
                               memcmp(p->name, "CONTENT_LENGTH", sizeof p->name - 1) == 0;
                p->st = P_VALUE;
                p->got = 0;
                if (p->value_len > 0)
                    break;
            }
            pair_done(p, info, seen_length);
            break;
        }
        }
    }
}

static enum fcgi_request_state invalid(struct fcgi_request_info *info, const char *why)
{
    info->why = why;
    return FCGI_REQUEST_INVALID;
}

enum fcgi_request_state fcgi_request_scan(const uint8_t *buf, size_t len, size_t body_max,
                                          size_t cap, struct fcgi_request_info *info)
{
    memset(info, 0, sizeof *info);
    struct pairs p = { .st = P_NAME_LEN };
    bool begun = false, seen_length = false;
    size_t pos = 0;
    while (pos + FCGI_HEADER_LEN <= len) {
        const uint8_t *h = buf + pos;
        unsigned type = h[1];
        uint16_t id = (uint16_t)(h[2] << 8 | h[3]);
        size_t clen = (size_t)h[4] << 8 | h[5];
        size_t body = pos + FCGI_HEADER_LEN;        /* where the content starts */
        size_t end = body + clen + h[6];            /* and the record, padding included */
        if (h[0] != FCGI_VERSION_1)
            return invalid(info, "not FastCGI version 1");
        /* libfcgi reads the next header where the padding of these starts:
         * BEGIN_REQUEST's, and an empty PARAMS or STDIN's, are not skipped. */
        if (h[6] && (type == FCGI_BEGIN_REQUEST || clen == 0))
            return invalid(info, "padding after a BEGIN_REQUEST or an empty record");
        if (end > cap)
            return invalid(info, "a request larger than any route takes");
        if (!begun) {
            if (type != FCGI_BEGIN_REQUEST || id == FCGI_NULL_REQUEST_ID ||
                clen != sizeof(FCGI_BeginRequestBody))
                return invalid(info, "no BEGIN_REQUEST first");
            if (end > len)
                return FCGI_REQUEST_PARTIAL;
            if ((h[8] << 8 | h[9]) != FCGI_RESPONDER)
                return invalid(info, "not the responder role");
            info->keep_conn = h[10] & FCGI_KEEP_CONN;
            info->request_id = id;
            begun = true;
        } else if (id != info->request_id) {
            return invalid(info, "a record of another request");
        } else if (!info->params_whole) {
            if (type != FCGI_PARAMS)
                return invalid(info, "a record other than PARAMS before the params' end");
            if (end > len)
                return FCGI_REQUEST_PARTIAL;
            info->params_len += clen;
            if (info->params_len > FCGI_REQUEST_PARAMS_MAX)
                return invalid(info, "params larger than any web server sends");
            if (clen) {
                pairs_feed(&p, h + FCGI_HEADER_LEN, clen, info, &seen_length);
            } else {
                if (p.st != P_NAME_LEN || p.lenpos)
                    return invalid(info, "a param cut short by the params' end");
                info->params_whole = true;
                if (info->has_length && info->content_length > body_max) {
                    info->used = end;               /* refused by its length */
                    return FCGI_REQUEST_WHOLE;
                }
            }
        } else {
            if (type != FCGI_STDIN)
                return invalid(info, "a record other than STDIN after the params");
            size_t avail = len - body < clen ? len - body : clen;
            info->stdin_len += avail;
            if (info->stdin_len > body_max) {
                info->used = body + avail;          /* more than any route reads */
                return FCGI_REQUEST_WHOLE;
            }
            if (end > len)
                return FCGI_REQUEST_PARTIAL;
            if (!clen) {
                info->used = end;
                return FCGI_REQUEST_WHOLE;
            }
        }
        pos = end;
    }
    return FCGI_REQUEST_PARTIAL;
}

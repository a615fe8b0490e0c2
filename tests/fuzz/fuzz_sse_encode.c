/* fuzz_sse_encode.c -- the EventSource encoder, sse_encode.
 *
 * Input: a flags byte, then an 8-byte id if flags & 1, a 4-byte retry if
 * flags & 2, a NUL-terminated event name if flags & 4; the rest is the data
 * (any bytes, NUL included), or no data at all (NULL) if flags & 8.
 * flags >> 4 picks a too-small buffer for the truncation check.  Checked:
 *   - a bad name (empty, CR, LF) is -1 both when measuring and when writing;
 *   - measuring (NULL, 0) gives the length the write gives; the write into
 *     exactly length + 1 bytes is NUL-terminated and a write into fewer
 *     bytes says how many it needed without writing past the buffer;
 *   - the output has no CR at all, every line is a "retry: ", "id: ",
 *     "event: " or "data: " field in that order, and the one blank line ends
 *     it;
 *   - parsed by the WHATWG "interpret an event stream" algorithm, the output
 *     is one event with the name, id, retry and the data again, with CRLF
 *     and CR turned into LF. */
#include "autoconf.h"

#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "sse.h"

/* What a browser's EventSource sees: the fields of one dispatched event. */
struct parsed {
    int events;                 /* dispatched events (must be 1) */
    char *data;                 /* the data buffer, final LF removed */
    size_t data_len;
    char *type;                 /* "" means "message" */
    char last_id[32];
    bool has_id;
    long long retry;            /* -1: no retry field */
};

static bool starts(const char *s, size_t n, const char *field)
{
    size_t k = strlen(field);
    return n >= k && memcmp(s, field, k) == 0;
}

/* HTML Living Standard, "Interpreting an event stream", for one stream of
 * len bytes (lines end in LF only: the encoder writes no CR, checked before).
 * The data buffer is as long as the stream at most. */
static void whatwg_parse(const char *s, size_t len, struct parsed *ev)
{
    char *buf = malloc(len + 1), *type = calloc(1, len + 1);
    size_t blen = 0;
    memset(ev, 0, sizeof *ev);
    ev->retry = -1;
    size_t i = 0;
    while (i < len) {
        const char *eol = memchr(s + i, '\n', len - i);
        if (!eol)
            break;              /* an unterminated line is never processed */
        const char *line = s + i;
        size_t n = (size_t)(eol - line);
        i += n + 1;
        if (n == 0) {           /* dispatch */
            if (blen == 0) {
                type[0] = '\0';
                continue;
            }
            if (buf[blen - 1] == '\n')
                blen--;
            ev->events++;
            free(ev->data);
            ev->data = malloc(blen + 1);
            memcpy(ev->data, buf, blen);
            ev->data_len = blen;
            free(ev->type);
            ev->type = strdup(type);
            blen = 0;
            type[0] = '\0';
            continue;
        }
        if (line[0] == ':')
            continue;           /* comment */
        const char *colon = memchr(line, ':', n);
        size_t fl = colon ? (size_t)(colon - line) : n;
        const char *val = colon ? colon + 1 : line + n;
        size_t vl = (size_t)(line + n - val);
        if (vl && val[0] == ' ')
            val++, vl--;
        if (fl == 5 && memcmp(line, "event", 5) == 0) {
            memcpy(type, val, vl);
            type[vl] = '\0';
        } else if (fl == 4 && memcmp(line, "data", 4) == 0) {
            memcpy(buf + blen, val, vl);
            blen += vl;
            buf[blen++] = '\n';
        } else if (fl == 2 && memcmp(line, "id", 2) == 0) {
            if (!memchr(val, '\0', vl)) {
                FUZZ_CHECK(vl < sizeof ev->last_id);
                memcpy(ev->last_id, val, vl);
                ev->last_id[vl] = '\0';
                ev->has_id = true;
            }
        } else if (fl == 5 && memcmp(line, "retry", 5) == 0) {
            bool digits = vl > 0 && vl < 19;
            for (size_t k = 0; k < vl && digits; k++)
                digits = val[k] >= '0' && val[k] <= '9';
            if (digits)
                ev->retry = strtoll(val, NULL, 10);
        }
    }
    free(buf);
    free(type);
}

FUZZ_TARGET(sse_encode)
{
    if (size < 1)
        return 0;
    unsigned flags = data[0];
    const uint8_t *p = data + 1, *end = data + size;
    struct sse_event ev = { 0 };
    char *name = NULL;

    if (flags & 1) {
        if (end - p < 8)
            return 0;
        memcpy(&ev.id, p, 8);
        p += 8;
    }
    if (flags & 2) {
        if (end - p < 4)
            return 0;
        uint32_t r;
        memcpy(&r, p, 4);
        ev.retry_ms = r;
        p += 4;
    }
    if (flags & 4) {
        struct fuzz_input in = { p, (size_t)(end - p) };
        name = fuzz_field(&in, NULL);
        ev.name = name;
        p = in.p ? in.p : end;
    }
    char *dat = fuzz_copy(p, (size_t)(end - p));
    if (!(flags & 8)) {
        ev.data = dat;
        ev.data_len = (size_t)(end - p);
    }

    long need = sse_encode(NULL, 0, &ev);
    bool bad_name = name && (!*name || strpbrk(name, "\r\n"));
    if (bad_name) {
        char one[8];
        FUZZ_CHECK(need == -1);
        FUZZ_CHECK(sse_encode(one, sizeof one, &ev) == -1);
        goto out;
    }
    FUZZ_CHECK(need > 0);

    /* the write pass: exactly need + 1 bytes, and a too-small buffer */
    char *text = malloc((size_t)need + 1);
    FUZZ_CHECK(sse_encode(text, (size_t)need + 1, &ev) == need);
    FUZZ_CHECK(text[need] == '\0');
    size_t small = (flags >> 4) * (size_t)need / 16;
    char *tiny = malloc(small);
    FUZZ_CHECK(sse_encode(small ? tiny : NULL, small, &ev) == need);
    free(tiny);

    /* the shape */
    FUZZ_CHECK(!memchr(text, '\r', (size_t)need));
    FUZZ_CHECK(need >= 2 && text[need - 1] == '\n' && text[need - 2] == '\n');
    int stage = 0;                      /* retry, id, event, data */
    size_t data_lines = 0;
    for (size_t i = 0; i < (size_t)need - 1;) {
        const char *line = text + i;
        const char *eol = memchr(line, '\n', (size_t)need - i);
        size_t n = (size_t)(eol - line);
        FUZZ_CHECK(n > 0);              /* the only blank line is the last */
        int st = starts(line, n, "retry: ") ? 0 : starts(line, n, "id: ") ? 1
               : starts(line, n, "event: ") ? 2 : starts(line, n, "data: ") ? 3 : -1;
        FUZZ_CHECK(st >= 0);
        FUZZ_CHECK(st > stage || (st == 3 && stage == 3) || (st == 0 && i == 0));
        stage = st;
        data_lines += st == 3;
        i += n + 1;
    }
    FUZZ_CHECK(data_lines >= 1);

    /* what a browser makes of it */
    struct parsed got;
    whatwg_parse(text, (size_t)need, &got);
    FUZZ_CHECK(got.events == 1);
    FUZZ_CHECK(strcmp(got.type, name ? name : "") == 0);
    free(got.type);
    char idbuf[32] = "";
    if (ev.id)
        snprintf(idbuf, sizeof idbuf, "%" PRIu64, ev.id);
    FUZZ_CHECK(got.has_id == (ev.id != 0));
    FUZZ_CHECK(strcmp(got.last_id, idbuf) == 0);
    FUZZ_CHECK(got.retry == (ev.retry_ms ? (long long)ev.retry_ms : -1));

    /* the data with CRLF and CR as LF */
    size_t dl = ev.data ? ev.data_len : 0, o = 0;
    char *norm = malloc(dl + 1);
    for (size_t i = 0; i < dl; i++) {
        if (ev.data[i] == '\r') {
            norm[o++] = '\n';
            if (i + 1 < dl && ev.data[i + 1] == '\n')
                i++;
        } else {
            norm[o++] = ev.data[i];
        }
    }
    FUZZ_CHECK(got.data_len == o && memcmp(got.data, norm, o) == 0);
    free(norm);
    free(got.data);
    free(text);
out:
    free(dat);
    free(name);
    return 0;
}

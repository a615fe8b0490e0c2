/* fcgi_record.c -- FastCGI records a responder writes (see fcgi_record.h). */
#include "autoconf.h"

#include <string.h>

#include "fcgi_record.h"

void fcgi_record_header(FCGI_Header *h, unsigned char type, uint16_t request_id,
                        uint16_t content_len)
{
    h->version = FCGI_VERSION_1;
    h->type = type;
    h->requestIdB1 = (unsigned char)(request_id >> 8);
    h->requestIdB0 = (unsigned char)(request_id & 0xff);
    h->contentLengthB1 = (unsigned char)(content_len >> 8);
    h->contentLengthB0 = (unsigned char)(content_len & 0xff);
    h->paddingLength = 0;
    h->reserved = 0;
}

int fcgi_record_stdout(struct buf *out, uint16_t request_id, const char *data, size_t len)
{
    if (len == 0)
        return out->failed ? -1 : 0;
    size_t records = (len + FCGI_MAX_LENGTH - 1) / FCGI_MAX_LENGTH;
    /* Room for all of it first, so a refusal appends nothing. */
    char *p = buf_room(out, len + records * FCGI_HEADER_LEN);
    if (!p)
        return -1;
    while (len) {
        uint16_t n = len > FCGI_MAX_LENGTH ? FCGI_MAX_LENGTH : (uint16_t)len;
        FCGI_Header h;
        fcgi_record_header(&h, FCGI_STDOUT, request_id, n);
        memcpy(p, &h, FCGI_HEADER_LEN);
        memcpy(p + FCGI_HEADER_LEN, data, n);
        p += FCGI_HEADER_LEN + n;
        data += n;
        len -= n;
    }
    buf_commit(out, (size_t)(p - (out->data + out->len)));
    return 0;
}

int fcgi_record_end(struct buf *out, uint16_t request_id, uint32_t app_status,
                    unsigned char protocol_status)
{
    struct {
        FCGI_Header end_of_stdout;
        FCGI_EndRequestRecord end;
    } r;
    _Static_assert(sizeof r == FCGI_RECORD_END_LEN, "records are packed");
    fcgi_record_header(&r.end_of_stdout, FCGI_STDOUT, request_id, 0);
    fcgi_record_header(&r.end.header, FCGI_END_REQUEST, request_id, sizeof r.end.body);
    r.end.body.appStatusB3 = (unsigned char)(app_status >> 24);
    r.end.body.appStatusB2 = (unsigned char)(app_status >> 16);
    r.end.body.appStatusB1 = (unsigned char)(app_status >> 8);
    r.end.body.appStatusB0 = (unsigned char)app_status;
    r.end.body.protocolStatus = protocol_status;
    memset(r.end.body.reserved, 0, sizeof r.end.body.reserved);
    return buf_append(out, &r, sizeof r);
}

/* fcgi_record.h -- the FastCGI records a responder writes on a stream.
 *
 * The I/O loops write each stream's response themselves (libfcgi's
 * streams would block and cost 8 KiB a stream), so they frame it here:
 * STDOUT records for the body, then an empty STDOUT and END_REQUEST, as
 * FCGX_Finish_r writes them.  Built on libfcgi's own protocol header
 * (fastcgi.h: FCGI_Header, FCGI_EndRequestBody, the record types); every
 * header is filled in one function, fcgi_record_header().
 *
 * Pure: appends to a buffer, no I/O, no locks. */
#ifndef SSE_FCGI_RECORD_H
#define SSE_FCGI_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include <fastcgi.h>

#include "buf.h"

/* The bytes fcgi_record_end() appends. */
#define FCGI_RECORD_END_LEN (2 * FCGI_HEADER_LEN + sizeof(FCGI_EndRequestBody))

/* Fills h for a record of type (FCGI_STDOUT, ...) on request_id with
 * content_len bytes of content (at most FCGI_MAX_LENGTH) and no padding. */
void fcgi_record_header(FCGI_Header *h, unsigned char type, uint16_t request_id,
                        uint16_t content_len);

/* Appends data as STDOUT records of at most FCGI_MAX_LENGTH bytes each (a
 * zero length appends nothing: an empty STDOUT record ends the stream).
 * Returns 0, or -1 if out cannot take them all (its cap, or memory): out
 * then holds what it held before. */
int fcgi_record_stdout(struct buf *out, uint16_t request_id, const char *data, size_t len);

/* Appends the end of the response: an empty STDOUT record and END_REQUEST
 * with app_status and protocol_status (FCGI_REQUEST_COMPLETE).  Returns 0
 * or -1 as fcgi_record_stdout. */
int fcgi_record_end(struct buf *out, uint16_t request_id, uint32_t app_status,
                    unsigned char protocol_status);

#endif

/* http.h -- answering a FastCGI request: status, headers, the JSON
 * envelope, and request bodies.
 *
 * Every answer but a stream and /metrics is JSON: {"success": true,
 * "data": ..., "message": ...}, or for an error {"success": false,
 * "error", "message", "errors": [...], "error_info": {"code", "message"}}.
 * The status each worker last answered with is kept for the metrics.
 *
 * Runs in the worker threads; a request is one worker's. */
#ifndef SSE_HTTP_H
#define SSE_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <fcgiapp.h>
#include <json-c/json.h>

#define HTTP_RETRY_AFTER 5          /* seconds, for 429 and 503 */

/* A FastCGI param of req, or NULL. */
const char *http_param(FCGX_Request *req, const char *name);

/* Writes status and the JSON body (taking ownership of it), with extra
 * header lines ("Name: value\r\n..." or NULL). */
void http_reply(FCGX_Request *req, int status, const char *headers, struct json_object *body);

/* 200 with {"success": true, "data": data, "message": message}; takes data. */
void http_ok(FCGX_Request *req, struct json_object *data, const char *message);

/* The error envelope with status and message (and extra header lines). */
void http_error(FCGX_Request *req, int status, const char *message, const char *headers);

/* An error to retry after `seconds`: 409, 429 or 503 with Retry-After. */
void http_retry_later(FCGX_Request *req, int status, const char *message, int seconds);

/* Writes the status line and Content-Type of an answer whose body the
 * caller writes itself (stats, metrics). */
void http_head(FCGX_Request *req, int status, const char *content_type);

/* Notes status as this worker's last answer (a stream handed over answers
 * 200 without writing); http_last_status() reads it for the metrics. */
void http_note_status(int status);
int http_last_status(void);

/* Reads the request body, at most max bytes, into *buf (caller frees;
 * NUL-terminated).  Without a length, or with -1 (a chunked request, as
 * Caddy passes it), reads to the end of FastCGI stdin.  Returns 0, or the
 * status it answered with: 400 (bad or unmet Content-Length), 413 (past
 * max; refused by its Content-Length before reading), 500. */
int http_read_body(FCGX_Request *req, size_t max, char **buf, size_t *len);

/* Reads a JSON object body of at most max bytes (body.h's rules).  Returns
 * it (caller puts it), or NULL after answering 415, 413, 400 or 500. */
struct json_object *http_json_body(FCGX_Request *req, size_t max);

#endif

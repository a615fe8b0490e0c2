/* http.c -- answering a FastCGI request (see http.h). */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "body.h"
#include "http.h"
#include "routes.h"

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

static const char *status_text(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 503: return "Service Unavailable";
    default:  return "Internal Server Error";
    }
}

static const char *error_code(int status)
{
    switch (status) {
    case 400: return "BAD_REQUEST";
    case 401: return "AUTHENTICATION_REQUIRED";
    case 403: return "ACCESS_DENIED";
    case 404: return "NOT_FOUND";
    case 405: return "METHOD_NOT_ALLOWED";
    case 409: return "CONFLICT";
    case 413: return "PAYLOAD_TOO_LARGE";
    case 415: return "UNSUPPORTED_MEDIA_TYPE";
    case 429: return "TOO_MANY_REQUESTS";
    case 503: return "SERVICE_UNAVAILABLE";
    default:  return "INTERNAL_ERROR";
    }
}

/* The status this worker last answered with, for the metrics. */
static _Thread_local int last_status;

void http_note_status(int status)
{
    last_status = status;
}

int http_last_status(void)
{
    return last_status;
}

const char *http_param(FCGX_Request *req, const char *name)
{
    return FCGX_GetParam(name, req->envp);
}

static void head(FCGX_Request *req, int status, const char *content_type, const char *headers)
{
    last_status = status;
    FCGX_FPrintF(req->out, "Status: %d %s\r\nContent-Type: %s\r\nCache-Control: no-store\r\n%s\r\n",
                 status, status_text(status), content_type, headers ? headers : "");
}

void http_head(FCGX_Request *req, int status, const char *content_type)
{
    head(req, status, content_type, NULL);
}

void http_reply(FCGX_Request *req, int status, const char *headers, struct json_object *body)
{
    head(req, status, "application/json", headers);
    size_t len;
    const char *text = json_object_to_json_string_length(body, JSON_FLAGS, &len);
    FCGX_PutStr(text, (int)len, req->out);
    FCGX_PutChar('\n', req->out);
    json_object_put(body);
}

void http_error(FCGX_Request *req, int status, const char *message, const char *headers)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "success", json_object_new_boolean(0));
    json_object_object_add(o, "error", json_object_new_string(message));
    json_object_object_add(o, "message", json_object_new_string(message));
    struct json_object *errors = json_object_new_array();
    json_object_array_add(errors, json_object_new_string(message));
    json_object_object_add(o, "errors", errors);
    struct json_object *info = json_object_new_object();
    json_object_object_add(info, "code", json_object_new_string(error_code(status)));
    json_object_object_add(info, "message", json_object_new_string(message));
    json_object_object_add(o, "error_info", info);
    http_reply(req, status, headers, o);
}

void http_ok(FCGX_Request *req, struct json_object *data, const char *message)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "success", json_object_new_boolean(1));
    json_object_object_add(o, "data", data);
    json_object_object_add(o, "message", json_object_new_string(message));
    http_reply(req, 200, NULL, o);
}

void http_retry_later(FCGX_Request *req, int status, const char *message, int seconds)
{
    char hdr[64];
    snprintf(hdr, sizeof hdr, "Retry-After: %d\r\n", seconds);
    http_error(req, status, message, hdr);
}

static int too_large(FCGX_Request *req, size_t max)
{
    char msg[96];
    snprintf(msg, sizeof msg, "Request body is larger than %zu bytes", max);
    http_error(req, 413, msg, NULL);
    return 413;
}

int http_read_body(FCGX_Request *req, size_t max, char **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    const char *cl = http_param(req, "CONTENT_LENGTH");
    unsigned long long declared = 0;
    bool have_cl = cl && *cl && strcmp(cl, "-1") != 0;
    if (have_cl) {
        if (!routes_decimal(cl, &declared)) {
            http_error(req, 400, "Invalid Content-Length", NULL);
            return 400;
        }
        if (declared > max)
            return too_large(req, max);     /* not read: finishing closes it */
    }
    char *b = malloc(max + 1);
    if (!b) {
        http_error(req, 500, "Out of memory", NULL);
        return 500;
    }
    size_t got = 0;
    for (;;) {
        int n = FCGX_GetStr(b + got, (int)(max + 1 - got), req->in);
        if (n <= 0)
            break;
        got += (size_t)n;
        if (got > max)
            break;
    }
    if (got > max) {
        free(b);
        return too_large(req, max);
    }
    if (FCGX_GetError(req->in) || (have_cl && got != declared)) {
        free(b);
        http_error(req, 400, "Request body does not match its Content-Length", NULL);
        return 400;
    }
    b[got] = '\0';
    *buf = b;
    *len = got;
    return 0;
}

struct json_object *http_json_body(FCGX_Request *req, size_t max)
{
    if (!body_content_type_ok(http_param(req, "CONTENT_TYPE"))) {
        http_error(req, 415, "Content-Type must be application/json or text/plain", NULL);
        return NULL;
    }
    char *buf;
    size_t len;
    if (http_read_body(req, max, &buf, &len) != 0)
        return NULL;
    const char *err = NULL;
    struct json_object *root = body_parse(buf, len, &err);
    free(buf);
    if (!root)
        http_error(req, 400, err, NULL);
    return root;
}

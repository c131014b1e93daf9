/*
 * response.c -- JSON answers and the broker's error shape (see response.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/error.h"
#include "gateway/response.h"

const char *response_reason(int status)
{
    static const struct {
        int status;
        const char *reason;
    } reasons[] = {{200, "OK"},          {201, "Created"},       {202, "Accepted"},
                   {204, "No Content"},  {400, "Bad Request"},   {401, "Unauthorized"},
                   {403, "Forbidden"},   {404, "Not Found"},     {405, "Method Not Allowed"},
                   {409, "Conflict"},    {413, "Payload Too Large"},
                   {415, "Unsupported Media Type"},              {429, "Too Many Requests"},
                   {500, "Internal Server Error"},               {502, "Bad Gateway"},
                   {503, "Service Unavailable"}};

    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
        if (reasons[i].status == status)
            return reasons[i].reason;
    return status < 400 ? "OK" : "Error";
}

void response_send(h2o_req_t *req, int status, const char *reason, const char *content_type,
                   const char *body, size_t len)
{
    static h2o_generator_t generator = {NULL, NULL};
    h2o_iovec_t buf = h2o_iovec_init(h2o_mem_alloc_pool(&req->pool, len), len);

    memcpy(buf.base, body, len);
    req->res.status = status;
    req->res.reason = reason;
    req->res.content_length = buf.len;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, content_type,
                   strlen(content_type));
    h2o_start_response(req, &generator);
    if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD")))
        h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
    else
        h2o_send(req, &buf, 1, H2O_SEND_STATE_FINAL);
}

/* The guard lives in the request's pool: disposing of the request runs this. */
static void on_request_disposed(void *guard)
{
    struct response_later *later = *(struct response_later **)guard;

    if (later != NULL)
        later->req = NULL;
}

void response_later_start(struct response_later *later, h2o_req_t *req)
{
    later->req = req;
    later->guard = h2o_mem_alloc_shared(&req->pool, sizeof(*later->guard), on_request_disposed);
    *later->guard = later;
}

void response_later_end(struct response_later *later)
{
    if (later->req != NULL)
        *later->guard = NULL;
    later->req = NULL;
}

void response_json(h2o_req_t *req, int status, const char *reason, json_t *body)
{
    struct vane_buf text = VANE_BUF_INIT;
    size_t flags = JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9);
    size_t len = json_dumpb(body, NULL, 0, flags);

    vane_buf_reserve(&text, len + 1);
    text.len = json_dumpb(body, text.data, len + 1, flags);
    vane_buf_append(&text, "\n", 1);
    json_decref(body);
    response_send(req, status, reason, "application/json", text.data, text.len);
    vane_buf_free(&text);
}

/* A JSON string of text; bytes that are not UTF-8 (echoed from a client) become '?'. */
static json_t *text_string(char *text)
{
    json_t *s = json_string(text);

    if (s != NULL)
        return s;
    for (char *p = text; *p != '\0'; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    return json_string(text);
}

void response_error_with(h2o_req_t *req, int status, const char *reason, const char *field,
                         const char *message, json_t *members)
{
    char *copy = vane_strdup(message);
    json_t *error = json_pack("{s:i, s:o}", "status", status, "message", text_string(copy));

    vane_free(copy);
    if (field != NULL && *field != '\0') {
        copy = vane_strdup(field);
        json_object_set_new(error, "field", text_string(copy));
        vane_free(copy);
    }
    if (members != NULL) {
        json_object_update(error, members);
        json_decref(members);
    }
    response_json(req, status, reason, json_pack("{s:o}", "error", error));
}

void response_error_at(h2o_req_t *req, int status, const char *reason, const char *field,
                       long index, const char *message)
{
    response_error_with(req, status, reason, field, message,
                        index >= 0 ? json_pack("{s:I}", "index", (json_int_t)index) : NULL);
}

void response_error(h2o_req_t *req, int status, const char *reason, const char *field,
                    const char *fmt, ...)
{
    struct vane_buf msg = VANE_BUF_INIT;
    va_list ap;

    va_start(ap, fmt);
    vane_buf_vappendf(&msg, fmt, ap);
    va_end(ap);
    response_error_at(req, status, reason, field, -1, msg.data);
    vane_buf_free(&msg);
}

static int method_listed(const h2o_iovec_t *method, const char *allowed)
{
    const char *p = allowed;

    while (*p != '\0') {
        size_t n = strcspn(p, ", ");

        if (n == method->len && memcmp(p, method->base, n) == 0)
            return 1;
        p += n;
        p += strspn(p, ", ");
    }
    return 0;
}

int response_check_method(h2o_req_t *req, const char *allowed)
{
    if (method_listed(&req->method, allowed))
        return 0;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, allowed, strlen(allowed));
    response_error(req, 405, "Method Not Allowed", NULL, "method %.*s is not allowed here; use %s",
                   (int)req->method.len, req->method.base, allowed);
    return 1;
}

int response_unavailable(h2o_req_t *req, int err)
{
    switch (err) {
    case VANE_ENOTREADY:
    case VANE_ESHUTDOWN:
        response_error(req, 503, "Service Unavailable", NULL, "the broker is %s; try again",
                       err == VANE_ENOTREADY ? "starting" : "stopping");
        return 1;
    case VANE_ENOLEADER:
    case VANE_ENOTLEADER:
        response_error(req, 503, "Service Unavailable", NULL,
                       "the cluster is electing a leader (%s); try again", vane_strerror(err));
        return 1;
    case -ETIMEDOUT:
        response_error(req, 503, "Service Unavailable", NULL,
                       "the cluster's leader did not answer in time: the change may or may not "
                       "have been made; look, then try again");
        return 1;
    default:
        return 0;
    }
}

/*
 * response.c -- JSON answers and the broker's error shape (see response.h).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "gateway/response.h"

void response_json(h2o_req_t *req, int status, const char *reason, json_t *body)
{
    static h2o_generator_t generator = {NULL, NULL};
    size_t len = json_dumpb(body, NULL, 0, JSON_COMPACT | JSON_PRESERVE_ORDER);
    h2o_iovec_t buf = h2o_iovec_init(h2o_mem_alloc_pool(&req->pool, len + 1), len + 1);

    buf.len = json_dumpb(body, buf.base, len + 1, JSON_COMPACT | JSON_PRESERVE_ORDER);
    buf.base[buf.len++] = '\n';
    json_decref(body);

    req->res.status = status;
    req->res.reason = reason;
    req->res.content_length = buf.len;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("application/json"));
    h2o_start_response(req, &generator);
    if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD")))
        h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
    else
        h2o_send(req, &buf, 1, H2O_SEND_STATE_FINAL);
}

void response_error(h2o_req_t *req, int status, const char *reason, const char *field,
                    const char *fmt, ...)
{
    struct vane_buf msg = VANE_BUF_INIT;
    json_t *error;
    va_list ap;

    va_start(ap, fmt);
    vane_buf_vappendf(&msg, fmt, ap);
    va_end(ap);
    error = json_pack("{s:i, s:s}", "status", status, "message", msg.data);
    if (field != NULL)
        json_object_set_new(error, "field", json_string(field));
    vane_buf_free(&msg);
    response_json(req, status, reason, json_pack("{s:o}", "error", error));
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

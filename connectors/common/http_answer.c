/*
 * http_answer.c -- request headers and JSON answers for the source
 * connectors (see http_answer.h).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_answer.h"

const struct vane_http_header *http_answer_header(const struct vane_http_request *req,
                                                  const char *name)
{
    size_t len = strlen(name);

    for (size_t i = 0; i < req->header_count; i++)
        if (req->headers[i].name_len == len && strncasecmp(req->headers[i].name, name, len) == 0)
            return &req->headers[i];
    return NULL;
}

void http_answer_json(const struct vane_host *host, struct vane_http_reply *r, int status,
                      json_t *doc, const char *extra_header)
{
    const char *headers[3] = {"Content-Type: application/json", extra_header, NULL};
    char *body = json_dumps(doc, JSON_COMPACT);

    host->http_reply(r, status, headers, body, strlen(body));
    free(body);
    json_decref(doc);
}

json_t *http_answer_error_body(int status, const char *field, const char *message)
{
    json_t *error = json_pack("{s:i, s:s}", "status", status, "message", message);

    if (error == NULL) /* a message that is not UTF-8 (it quotes the client) */
        error = json_pack("{s:i, s:s}", "status", status, "message", "bad request");
    if (field != NULL)
        json_object_set_new(error, "field", json_string(field));
    return json_pack("{s:o}", "error", error);
}

void http_answer_error(const struct vane_host *host, struct vane_http_reply *r, int status,
                       const char *field, const char *message, const char *extra_header)
{
    http_answer_json(host, r, status, http_answer_error_body(status, field, message),
                     extra_header);
}

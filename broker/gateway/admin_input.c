/*
 * admin_input.c -- reading admin request bodies and names, writing times
 * (see admin_input.h).  Moved here from eventbuses.c when the
 * subscriptions API came to need the same.
 */
#include <string.h>

#include "core/alloc.h"
#include "controller/controller.h"
#include "event/timestamp.h"
#include "gateway/admin_input.h"
#include "gateway/response.h"

#define NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"

json_t *admin_read_body(h2o_req_t *req)
{
    json_error_t error;
    json_t *body = json_loadb(req->entity.base != NULL ? req->entity.base : "", req->entity.len,
                              JSON_REJECT_DUPLICATES, &error);

    if (body == NULL) {
        response_error(req, 400, "Bad Request", NULL,
                       "body: invalid JSON at line %d, column %d: %s", error.line, error.column,
                       error.text);
        return NULL;
    }
    if (!json_is_object(body)) {
        response_error(req, 400, "Bad Request", NULL, "body: expected a JSON object");
        json_decref(body);
        return NULL;
    }
    return body;
}

const char *admin_json_kind(const json_t *value)
{
    switch (json_typeof(value)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number with a fraction";
    case JSON_TRUE: case JSON_FALSE: return "a boolean";
    case JSON_NULL: break;
    }
    return "null";
}

int admin_read_integer(h2o_req_t *req, const char *field, const json_t *value, json_int_t min,
                       json_int_t max, json_int_t *out)
{
    if (json_is_integer(value) && json_integer_value(value) >= min &&
        json_integer_value(value) <= max) {
        *out = json_integer_value(value);
        return 0;
    }
    if (json_is_integer(value))
        response_error(req, 400, "Bad Request", field,
                       "%s: expected an integer from %" JSON_INTEGER_FORMAT
                       " to %" JSON_INTEGER_FORMAT "; got %" JSON_INTEGER_FORMAT,
                       field, min, max, json_integer_value(value));
    else
        response_error(req, 400, "Bad Request", field,
                       "%s: expected an integer from %" JSON_INTEGER_FORMAT
                       " to %" JSON_INTEGER_FORMAT "; got %s",
                       field, min, max, admin_json_kind(value));
    return 1;
}

const char *admin_name_problem(const char *name, size_t len)
{
    if (memchr(name, '%', len) != NULL)
        return "a name as it is, not percent-encoded: " ADMIN_NAME_EXPECTED;
    if (len == 0 || len > CONTROLLER_MAX_NAME || (len == 1 && name[0] == '.') ||
        (len == 2 && name[0] == '.' && name[1] == '.'))
        return ADMIN_NAME_EXPECTED;
    for (size_t i = 0; i < len; i++)
        if (name[i] == '\0' || strchr(NAME_CHARS, name[i]) == NULL)
            return ADMIN_NAME_EXPECTED;
    return NULL;
}

bool admin_is_system_name(const char *name)
{
    return strncmp(name, "__", 2) == 0;
}

int admin_path_name(h2o_req_t *req, const char *name, size_t len, const char *what, char *out)
{
    const char *problem = admin_name_problem(name, len);

    if (problem != NULL) {
        response_error(req, 400, "Bad Request", "name", "%s: expected %s", what, problem);
        return 1;
    }
    memcpy(out, name, len);
    out[len] = '\0';
    return 0;
}

json_t *admin_time_json(int64_t ns, bool nanoseconds)
{
    char text[TIMESTAMP_MAX_LEN];

    if (!nanoseconds)
        ns -= ((ns % 1000000000) + 1000000000) % 1000000000;
    timestamp_format(ns, text);
    return json_string(text);
}

int admin_collection_path(h2o_req_t *req, const char *prefix, const char *what, char *out)
{
    size_t len = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
    size_t prefix_len = strlen(prefix);
    const char *path = req->path.base;

    if (len < prefix_len || memcmp(path, prefix, prefix_len) != 0 ||
        (len > prefix_len && path[prefix_len] != '/') ||
        (len > prefix_len + 1 && memchr(path + prefix_len + 1, '/', len - prefix_len - 1))) {
        response_error(req, 404, "Not Found", NULL, "no such path; %s are at %s and %s/{name}",
                       what, prefix, prefix);
        return 1;
    }
    out[0] = '\0';
    if (len <= prefix_len + 1)
        return 0;
    return admin_path_name(req, path + prefix_len + 1, len - prefix_len - 1, "name in the path",
                           out);
}

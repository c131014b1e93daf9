/*
 * connectors_api.c -- connectors over HTTP (see connectors_api.h;
 * doc/connectors.md has the bodies):
 *
 *     GET    /api/v1/connectors          list, each with its status
 *     POST   /api/v1/connectors          create: {"name", "plugin", ...spec}
 *     GET    /api/v1/connectors/{name}   the spec and the status
 *     PUT    /api/v1/connectors/{name}   change: members given replace the
 *                                        spec's, "options" member by member
 *     DELETE /api/v1/connectors/{name}
 *     any    /connectors/{name}[/...]    to the source connector name
 *
 * Options the plugin declares secret are shown as "*****", and "*****"
 * sent back for one in a change keeps its value.
 *
 * A spec is checked by the engine (engine_check_spec: the plugin loaded,
 * its options, the eventbus or subscription, the instance counts) before
 * the controller is asked; the answer waits for the controller as the
 * other admin endpoints do (response.h's response_later).  Scaling is a
 * change of "min" and "max" (vanectl connector scale).
 *
 * /connectors/{name} needs no token: a webhook sender (GitHub) cannot send
 * one; a source checks what it must itself (a signature).  The request is
 * copied to the engine, which answers once the instance has (after the
 * events it emitted are durable, for the shipped sources), possibly at
 * once; if the client hangs up meanwhile, the engine forgets the answer.
 */
#include <errno.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "engine/engine.h"
#include "gateway/admin_input.h"
#include "gateway/auth.h"
#include "gateway/cluster_api.h"
#include "gateway/connectors_api.h"
#include "gateway/response.h"
#include "plugin/plugin_registry.h"
#include "store/store.h"

#define PREFIX "/api/v1/connectors"
#define MOUNT "/connectors"
#define MOUNT_LEN (sizeof(MOUNT) - 1)
#define MAX_HEADERS 128

struct connectors_handler {
    h2o_handler_t super;
    struct gateway *gw;
};

static struct controller *controller_of(const struct gateway *gw)
{
    return store_controller(gw->store);
}

/* ---- the admin API ------------------------------------------------------------ */

/* What a secret option's value is shown as; sent back in a change, it keeps the value. */
#define SECRET_SHOWN "*****"

/* Whether the plugin the spec names declares option key secret. */
static bool is_secret(struct gateway *gw, const json_t *spec, const char *key)
{
    const char *plugin = json_string_value(json_object_get(spec, "plugin"));
    const struct plugin *p = plugin && gw->plugins ? plugin_registry_find(gw->plugins, plugin)
                                                   : NULL;

    for (size_t i = 0; p != NULL && i < p->option_count; i++)
        if (strcmp(p->options[i].name, key) == 0)
            return (p->options[i].flags & VANE_OPTION_SECRET) != 0;
    return false;
}

/* The spec as the API shows it: secret options' values masked. */
static json_t *shown_spec(struct gateway *gw, const json_t *spec)
{
    json_t *out = json_deep_copy(spec), *options = json_object_get(out, "options"), *value;
    const char *key;

    json_object_foreach(options, key, value)
        if (is_secret(gw, spec, key))
            json_object_set_new(options, key, json_string(SECRET_SHOWN));
    return out;
}

static json_t *connector_json(struct gateway *gw, const struct connector_meta *conn)
{
    json_t *out = shown_spec(gw, conn->spec), *status = engine_status(gw->engine, conn->name);

    json_object_set_new(out, "name", json_string(conn->name));
    json_object_set_new(out, "id", json_integer((json_int_t)conn->id));
    json_object_set_new(out, "created_at", admin_time_json(conn->created_at, false));
    json_object_set_new(out, "updated_at", admin_time_json(conn->updated_at, false));
    json_object_set_new(out, "status", status ? status : json_null());
    return out;
}

enum op_kind {
    OP_CREATE,
    OP_CHANGE,
    OP_DELETE,
};

struct pending {
    struct response_later later;
    struct gateway *gw;
    enum op_kind kind;
    char *name;
};

static void answer_failure(h2o_req_t *req, const struct pending *op, int err)
{
    if (err == -ENOENT)
        response_error(req, 404, "Not Found", NULL, "no connector '%s'", op->name);
    else if (err == -EEXIST)
        response_error(req, 409, "Conflict", "name",
                       "name: a connector named '%s' already exists", op->name);
    else if (!response_unavailable(req, err))
        response_error(req, 500, "Internal Server Error", NULL, "connector '%s': %s", op->name,
                       vane_strerror(err));
}

/* Ends an operation: the answer is given (or the client went away). */
static void pending_free(struct pending *op)
{
    response_later_end(&op->later);
    vane_free(op->name);
    vane_free(op);
}

static void on_done(void *arg, int status, const struct connector_meta *conn)
{
    struct pending *op = arg;
    h2o_req_t *req = op->later.req;

    if (req != NULL && status != 0)
        answer_failure(req, op, status);
    else if (req != NULL && op->kind == OP_DELETE)
        response_json(req, 200, "OK", json_pack("{s:s, s:b}", "name", op->name, "deleted", 1));
    else if (req != NULL)
        response_json(req, op->kind == OP_CREATE ? 201 : 200,
                      op->kind == OP_CREATE ? "Created" : "OK", connector_json(op->gw, conn));
    pending_free(op);
}

static struct pending *pending_new(struct gateway *gw, h2o_req_t *req, enum op_kind kind,
                                   const char *name)
{
    struct pending *op = VANE_NEW(op);

    response_later_start(&op->later, req);
    op->gw = gw;
    op->kind = kind;
    op->name = vane_strdup(name);
    return op;
}

/* Checks spec and proposes it; answers at once when that fails. */
static void put(struct gateway *gw, h2o_req_t *req, const char *name, json_t *spec, bool create)
{
    char *errmsg = NULL;
    struct pending *op;
    int rc;

    if (engine_check_spec(gw->engine, name, spec, &errmsg) != 0) {
        const char *colon = strchr(errmsg, ':');
        char *field = vane_strndup(errmsg, colon ? (size_t)(colon - errmsg) : 0);

        response_error(req, 400, "Bad Request", colon ? field : NULL, "%s", errmsg);
        vane_free(field);
        vane_free(errmsg);
        return;
    }
    op = pending_new(gw, req, create ? OP_CREATE : OP_CHANGE, name);
    rc = controller_put_connector(controller_of(gw), name, spec, create, on_done, op, &errmsg);
    if (rc != 0) {
        if (rc == -EINVAL || rc == -EEXIST)
            response_error(req, rc == -EINVAL ? 400 : 409, rc == -EINVAL ? "Bad Request"
                                                                          : "Conflict",
                           "name", "%s", errmsg ? errmsg : "invalid name");
        else
            answer_failure(req, op, rc);
        pending_free(op);
    }
    vane_free(errmsg);
}

static void create(struct gateway *gw, h2o_req_t *req)
{
    json_t *body = admin_read_body(req);
    const json_t *name;
    char *copy;

    if (body == NULL)
        return;
    name = json_object_get(body, "name");
    if (!json_is_string(name)) {
        response_error(req, 400, "Bad Request", "name",
                       "name: required, a string of " ADMIN_NAME_EXPECTED);
        json_decref(body);
        return;
    }
    copy = vane_strdup(json_string_value(name));
    json_object_del(body, "name");
    put(gw, req, copy, body, true);
    vane_free(copy);
    json_decref(body);
}

/* A secret sent back as it was shown keeps its value: it is left out of the change. */
static void drop_masked(struct gateway *gw, const json_t *spec, json_t *options)
{
    const char *key;
    json_t *value;
    void *tmp;

    json_object_foreach_safe(options, tmp, key, value)
        if (json_is_string(value) && strcmp(json_string_value(value), SECRET_SHOWN) == 0 &&
            is_secret(gw, spec, key))
            json_object_del(options, key);
}

static void change(struct gateway *gw, h2o_req_t *req, const struct connector_meta *conn)
{
    json_t *body = admin_read_body(req), *spec, *options;
    char *name;

    if (body == NULL)
        return;
    if (json_object_get(body, "name") != NULL) {
        response_error(req, 400, "Bad Request", "name", "name: a connector cannot be renamed; "
                       "create another and delete this one");
        json_decref(body);
        return;
    }
    spec = json_deep_copy(conn->spec);
    options = json_object_get(body, "options");
    drop_masked(gw, spec, options);
    if (json_is_object(options) && json_is_object(json_object_get(spec, "options"))) {
        json_object_update(json_object_get(spec, "options"), options);
        json_object_del(body, "options");
    }
    json_object_update(spec, body);
    name = vane_strdup(conn->name);
    put(gw, req, name, spec, false);
    vane_free(name);
    json_decref(spec);
    json_decref(body);
}

static void delete_one(struct gateway *gw, h2o_req_t *req, const struct connector_meta *conn)
{
    struct pending *op = pending_new(gw, req, OP_DELETE, conn->name);
    int rc = controller_delete_connector(controller_of(gw), conn->name, on_done, op);

    if (rc != 0) {
        answer_failure(req, op, rc);
        pending_free(op);
    }
}

static void list(struct gateway *gw, h2o_req_t *req)
{
    size_t count;
    const struct connector_meta *const *conns = controller_connectors(controller_of(gw), &count);
    json_t *array = json_array();

    for (size_t i = 0; i < count; i++)
        json_array_append_new(array, connector_json(gw, conns[i]));
    response_json(req, 200, "OK", json_pack("{s:o}", "connectors", array));
}

/* Answers 503 and returns 1 when the engine did not start (the log says why); in a
 * cluster, a node whose engine does not run redirects to the one whose does. */
static int check_engine(struct gateway *gw, h2o_req_t *req)
{
    if (gw->engine != NULL || cluster_api_redirect_to_duty(gw, req))
        return gw->engine == NULL;
    response_error(req, 503, "Service Unavailable", NULL,
                   "the connector engine is not running (the broker's log says why)");
    return 1;
}

static bool method_is(const h2o_req_t *req, const char *method)
{
    return h2o_memis(req->method.base, req->method.len, method, strlen(method));
}

static int on_admin(h2o_handler_t *self, h2o_req_t *req)
{
    struct gateway *gw = ((struct connectors_handler *)self)->gw;
    const struct connector_meta *conn;
    char name[CONTROLLER_MAX_NAME + 1];

    if (auth_check(gw->auth, req, AUTH_ADMIN) ||
        admin_collection_path(req, PREFIX, "connectors", name) ||
        response_check_method(req, name[0] ? "GET, HEAD, PUT, DELETE" : "GET, HEAD, POST") ||
        gateway_check_ready(gw, req) || check_engine(gw, req))
        return 0;
    if (name[0] == '\0') {
        if (method_is(req, "POST"))
            create(gw, req);
        else
            list(gw, req);
        return 0;
    }
    if ((conn = controller_find_connector(controller_of(gw), name)) == NULL)
        response_error(req, 404, "Not Found", NULL, "no connector '%s'", name);
    else if (method_is(req, "PUT"))
        change(gw, req, conn);
    else if (method_is(req, "DELETE"))
        delete_one(gw, req, conn);
    else
        response_json(req, 200, "OK", connector_json(gw, conn));
    return 0;
}

/* ---- /connectors/{name}: requests to sources -------------------------------------- */

struct source_call {
    struct response_later later;
    struct gateway *gw;
};

static void on_source_reply(void *arg, int status, const char *const *headers,
                            size_t header_count, const char *body, size_t body_len)
{
    struct source_call *call = arg;
    h2o_req_t *req = call->later.req;
    const char *content_type = "application/octet-stream";

    if (req != NULL) {
        for (size_t i = 0; i < header_count; i++) {
            const char *colon = strchr(headers[i], ':');
            const char *value = colon ? colon + 1 : "";

            while (*value == ' ')
                value++;
            if (colon == NULL)
                continue;
            if ((size_t)(colon - headers[i]) == 12 && strncasecmp(headers[i], "content-type", 12) == 0)
                content_type = h2o_strdup(&req->pool, value, SIZE_MAX).base;
            else
                h2o_add_header_by_str(&req->pool, &req->res.headers, headers[i],
                                      (size_t)(colon - headers[i]), 1, NULL, value,
                                      strlen(value));
        }
        response_send(req, status, response_reason(status), content_type, body ? body : "",
                      body_len);
    }
    response_later_end(&call->later);
    vane_free(call);
}

/* The SDK's view of req: header names as h2o has them (lower case), the path after the name. */
static void describe(h2o_req_t *req, const char *rest, size_t rest_len,
                     struct vane_http_request *out, struct vane_http_header *headers,
                     char *strings[4])
{
    size_t path_len = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
    size_t n = req->headers.size < MAX_HEADERS ? req->headers.size : MAX_HEADERS;
    char addr[NI_MAXHOST + 8] = "";
    struct sockaddr_storage ss;
    socklen_t sslen;

    (void)path_len;
    for (size_t i = 0; i < n; i++)
        headers[i] = (struct vane_http_header){req->headers.entries[i].name->base,
                                               req->headers.entries[i].name->len,
                                               req->headers.entries[i].value.base,
                                               req->headers.entries[i].value.len};
    if ((sslen = req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss)) != 0) {
        int32_t port = h2o_socket_getport((struct sockaddr *)&ss);
        size_t l = h2o_socket_getnumerichost((struct sockaddr *)&ss, sslen, addr);

        if (l != SIZE_MAX)
            snprintf(addr + l, sizeof(addr) - l, ":%d", (int)port);
        else
            addr[0] = '\0';
    }
    strings[0] = vane_strndup(req->method.base, req->method.len);
    strings[1] = vane_strndup(rest, rest_len);
    strings[2] = req->query_at != SIZE_MAX
                     ? vane_strndup(req->path.base + req->query_at + 1,
                                    req->path.len - req->query_at - 1)
                     : vane_strdup("");
    strings[3] = vane_strdup(addr);
    *out = (struct vane_http_request){.method = strings[0], .path = strings[1],
                                      .query = strings[2], .remote_addr = strings[3],
                                      .headers = headers, .header_count = n,
                                      .body = req->entity.base,
                                      .body_len = req->entity.base ? req->entity.len : 0};
}

static int on_source(h2o_handler_t *self, h2o_req_t *req)
{
    struct gateway *gw = ((struct connectors_handler *)self)->gw;
    size_t len = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
    const char *start = req->path.base + MOUNT_LEN + 1, *slash;
    char name[CONTROLLER_MAX_NAME + 1];
    struct vane_http_header headers[MAX_HEADERS];
    struct vane_http_request in;
    struct source_call *call;
    char *strings[4];
    size_t name_len;
    int rc;

    if (len <= MOUNT_LEN + 1 || req->path.base[MOUNT_LEN] != '/') {
        response_error(req, 404, "Not Found", NULL, "no connector named in the path; source "
                       "connectors take requests at " MOUNT "/{name}");
        return 0;
    }
    slash = memchr(start, '/', len - MOUNT_LEN - 1);
    name_len = slash ? (size_t)(slash - start) : len - MOUNT_LEN - 1;
    if (gateway_check_ready(gw, req) || check_engine(gw, req) ||
        admin_path_name(req, start, name_len, "connector in the path", name))
        return 0;
    describe(req, start + name_len, len - MOUNT_LEN - 1 - name_len, &in, headers, strings);
    call = VANE_NEW(call);
    call->gw = gw;
    response_later_start(&call->later, req);
    rc = engine_http(gw->engine, name, &in, on_source_reply, call);
    for (int i = 0; i < 4; i++)
        vane_free(strings[i]);
    if (rc != 0) {
        response_error(req, 404, "Not Found", NULL,
                       "no source connector '%s' that takes HTTP requests", name);
        response_later_end(&call->later);
        vane_free(call);
    }
    return 0;
}

void connectors_api_register(struct http_server *server, struct gateway *gw)
{
    struct connectors_handler *h;

    h = (struct connectors_handler *)http_server_route(server, PREFIX, on_admin, sizeof(*h));
    h->gw = gw;
    h = (struct connectors_handler *)http_server_route(server, MOUNT, on_source, sizeof(*h));
    h->gw = gw;
}

/*
 * eventbuses.c -- create, list, show, change and delete eventbuses over
 * HTTP (see eventbuses.h; doc/api.md for the bodies).
 *
 * Routing.  h2o hands this handler every path under /api/v1/eventbuses.
 * The handler splits the raw path itself, not h2o's normalized one, so a
 * name is exactly the bytes the client sent: nothing is percent-decoded,
 * and a name with '%' in it, or any name the broker could not have created,
 * is refused with 400 naming the field "name".  Names are never echoed from
 * the path into an answer before they have been checked (the JSON writer
 * takes only valid UTF-8).
 *
 * Order of checks: token (401), path and name (404, 400), method (405),
 * readiness (503), body (400), then the operation (404, 409, ...).
 *
 * Asynchronous answers.  Create, update and delete are raft proposals; the
 * answer comes from the controller's callback (the store's, for a create,
 * once the new eventlogs are open), possibly after the client has gone and
 * h2o has disposed of the request.  So the operation is allocated apart from
 * the request, and a small guard allocated in the request's pool points at
 * it: the guard's dispose callback, which h2o runs when it frees the
 * request, clears the operation's request pointer.  The callback answers
 * only a request that still exists and always frees the operation.  Once a
 * proposal is accepted its callback always runs, also when the broker stops
 * (controller.h), so no operation leaks.
 *
 * System eventbuses (names starting with "__", made by the broker itself)
 * can be listed and shown but not created, changed or deleted here.
 * Deleting an eventbus deletes its eventlogs and their files; subscriptions
 * of the eventbus (a later part) are to be deleted with it.
 */
#include <errno.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "gateway/admin_input.h"
#include "gateway/auth.h"
#include "gateway/eventbuses.h"
#include "gateway/publish.h"
#include "gateway/query.h"
#include "gateway/events_read.h"
#include "gateway/response.h"

#define PREFIX "/api/v1/eventbuses"
#define PREFIX_LEN (sizeof(PREFIX) - 1)
#define DESCRIPTION_MAX 4096
#define MAX_AGE_SECONDS_MAX (INT64_MAX / 1000000000) /* retention works in nanoseconds */

struct eventbuses_handler {
    h2o_handler_t super;
    struct gateway *gw;
};

/* ---- the eventbus object ------------------------------------------------- */

/* One eventlog; only its position and id while it is not open. */
static json_t *eventlog_json(const struct eventbus_meta *meta, const struct store_bus *bus,
                             uint32_t index)
{
    json_t *obj = json_pack("{s:i, s:I}", "eventlog", (int)index, "id",
                            (json_int_t)meta->eventlog_ids[index]);
    struct eventlog_stats st;
    bool empty;

    if (bus == NULL || bus->logs[index] == NULL)
        return obj;
    eventlog_stats(bus->logs[index], &st);
    empty = st.next_offset == st.first_offset;
    json_object_set_new(obj, "first_offset", json_integer((json_int_t)st.first_offset));
    json_object_set_new(obj, "next_offset", json_integer((json_int_t)st.next_offset));
    json_object_set_new(obj, "events", json_integer((json_int_t)(st.next_offset - st.first_offset)));
    json_object_set_new(obj, "bytes", json_integer((json_int_t)st.bytes));
    json_object_set_new(obj, "segments", json_integer((json_int_t)st.segments));
    json_object_set_new(obj, "first_time",
                        empty ? json_null() : admin_time_json(st.first_time, true));
    json_object_set_new(obj, "last_time",
                        empty ? json_null() : admin_time_json(st.last_time, true));
    return obj;
}

static json_t *bus_json(const struct gateway *gw, const struct eventbus_meta *meta)
{
    const struct store_bus *bus = store_bus(gw->store, meta->name);
    json_t *logs = json_array();

    for (uint32_t i = 0; i < meta->eventlog_count; i++)
        json_array_append_new(logs, eventlog_json(meta, bus, i));
    return json_pack("{s:s, s:I, s:i, s:s, s:{s:I, s:I}, s:o, s:o, s:o}", "name", meta->name,
                     "id", (json_int_t)meta->id, "eventlog_count", (int)meta->eventlog_count,
                     "description", meta->description ? meta->description : "", "retention",
                     "max_age_seconds", (json_int_t)meta->retention_max_age_s, "max_bytes",
                     (json_int_t)meta->retention_max_bytes, "created_at",
                     admin_time_json(meta->created_at, false), "updated_at",
                     admin_time_json(meta->updated_at, false), "eventlogs", logs);
}

/* ---- names and paths ----------------------------------------------------- */

/* Answers 400 and returns 1 when a name from a body is not one a client may create. */
static int check_new_name(h2o_req_t *req, const json_t *value)
{
    const char *name = json_string_value(value);
    const char *problem = name ? admin_name_problem(name, strlen(name))
                               : "a string: " ADMIN_NAME_EXPECTED;

    if (problem == NULL && admin_is_system_name(name))
        problem = "a name that does not start with \"__\" (kept for system eventbuses)";
    if (problem == NULL)
        return 0;
    response_error(req, 400, "Bad Request", "name", "name: expected %s", problem);
    return 1;
}

enum target {
    TARGET_COLLECTION, /* /api/v1/eventbuses */
    TARGET_BUS,        /* /api/v1/eventbuses/{name} */
    TARGET_EVENTS,     /* /api/v1/eventbuses/{name}/events */
};

struct route {
    enum target target;
    char name[CONTROLLER_MAX_NAME + 1];
};

/* Splits the raw path into route; answers 404 or 400 and returns 1 when it names nothing here. */
static int parse_route(h2o_req_t *req, struct route *route)
{
    size_t len = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
    const char *path = req->path.base, *name, *slash;
    size_t name_len;

    if (len < PREFIX_LEN || memcmp(path, PREFIX, PREFIX_LEN) != 0 ||
        (len > PREFIX_LEN && path[PREFIX_LEN] != '/'))
        goto not_found;
    if (len <= PREFIX_LEN + 1) {
        route->target = TARGET_COLLECTION;
        return 0;
    }
    name = path + PREFIX_LEN + 1;
    slash = memchr(name, '/', len - PREFIX_LEN - 1);
    name_len = slash != NULL ? (size_t)(slash - name) : len - PREFIX_LEN - 1;
    route->target = TARGET_BUS;
    if (slash != NULL) {
        if ((size_t)(path + len - slash) != strlen("/events") || memcmp(slash, "/events", 7) != 0)
            goto not_found;
        route->target = TARGET_EVENTS;
    }
    return admin_path_name(req, name, name_len, "name in the path", route->name);

not_found:
    response_error(req, 404, "Not Found", NULL,
                   "no such path; eventbuses are at " PREFIX " and " PREFIX "/{name}");
    return 1;
}

/* ---- request bodies ------------------------------------------------------ */

/* What a create or update body says; absent fields as noted. */
struct bus_input {
    const json_t *name;          /* NULL: absent */
    json_int_t eventlog_count;   /* 0: absent */
    const char *count_field;     /* "eventlog_count" or "logs" (Vanus's name); NULL: absent */
    const char *description;     /* NULL: absent */
    json_int_t max_age_seconds;  /* -1: absent */
    json_int_t max_bytes;        /* -1: absent */
};

static int read_retention(h2o_req_t *req, const json_t *retention, struct bus_input *in)
{
    const char *key;
    json_t *value;

    if (!json_is_object(retention)) {
        response_error(req, 400, "Bad Request", "retention",
                       "retention: expected an object with max_age_seconds and/or max_bytes; "
                       "got %s", admin_json_kind(retention));
        return 1;
    }
    json_object_foreach((json_t *)retention, key, value) {
        if (strcmp(key, "max_age_seconds") == 0) {
            if (admin_read_integer(req, "retention.max_age_seconds", value, 0,
                                   MAX_AGE_SECONDS_MAX, &in->max_age_seconds))
                return 1;
        } else if (strcmp(key, "max_bytes") == 0) {
            if (admin_read_integer(req, "retention.max_bytes", value, 0, INT64_MAX,
                                   &in->max_bytes))
                return 1;
        } else {
            char *field = vane_asprintf("retention.%s", key);

            response_error(req, 400, "Bad Request", field,
                           "%s: unknown field; retention takes max_age_seconds and max_bytes",
                           field);
            vane_free(field);
            return 1;
        }
    }
    return 0;
}

static int read_eventlog_count(h2o_req_t *req, const char *key, const json_t *value,
                               struct bus_input *in)
{
    json_int_t count;

    if (admin_read_integer(req, key, value, 1, CONTROLLER_MAX_EVENTLOGS, &count))
        return 1;
    if (in->count_field != NULL && count != in->eventlog_count) {
        response_error(req, 400, "Bad Request", key,
                       "%s: eventlog_count and logs name the same thing and disagree", key);
        return 1;
    }
    in->eventlog_count = count;
    in->count_field = key;
    return 0;
}

/* Reads body into in, checking each field's type and range; answers 400 and returns 1 if not. */
static int read_input(h2o_req_t *req, const json_t *body, struct bus_input *in)
{
    const char *key;
    json_t *value;

    memset(in, 0, sizeof(*in));
    in->max_age_seconds = in->max_bytes = -1;
    json_object_foreach((json_t *)body, key, value) {
        if (strcmp(key, "name") == 0) {
            in->name = value;
        } else if (strcmp(key, "eventlog_count") == 0 || strcmp(key, "logs") == 0) {
            if (read_eventlog_count(req, key, value, in))
                return 1;
        } else if (strcmp(key, "description") == 0) {
            if (!json_is_string(value) || json_string_length(value) > DESCRIPTION_MAX) {
                response_error(req, 400, "Bad Request", "description",
                               "description: expected a string of at most %d bytes; got %s",
                               DESCRIPTION_MAX,
                               json_is_string(value) ? "a longer one" : admin_json_kind(value));
                return 1;
            }
            in->description = json_string_value(value);
        } else if (strcmp(key, "retention") == 0) {
            if (read_retention(req, value, in))
                return 1;
        } else {
            response_error(req, 400, "Bad Request", key,
                           "%s: unknown field; an eventbus takes name, eventlog_count (or logs), "
                           "description and retention", key);
            return 1;
        }
    }
    return 0;
}

/* ---- operations answered later ------------------------------------------- */

enum op_kind {
    OP_CREATE,
    OP_UPDATE,
    OP_DELETE,
};

struct request_guard;

struct pending {
    struct response_later later;
    struct gateway *gw;
    uint64_t bus_id; /* a delete's eventbus, for publish_forget_eventbus() */
    enum op_kind kind;
    char *name;
};

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

static void pending_free(struct pending *op)
{
    response_later_end(&op->later);
    vane_free(op->name);
    vane_free(op);
}

/* Answers a failed operation; errmsg (may be NULL) is the controller's reason for a 400. */
static void answer_failure(h2o_req_t *req, int err, const char *name, const char *errmsg)
{
    switch (err) {
    case -ENOENT:
        response_error(req, 404, "Not Found", NULL, "no eventbus named '%s'", name);
        break;
    case -EEXIST:
        response_error(req, 409, "Conflict", "name", "name: an eventbus named '%s' already exists",
                       name);
        break;
    case -EINVAL:
        response_error(req, 400, "Bad Request", NULL, "%s", errmsg ? errmsg : "invalid eventbus");
        break;
    default:
        if (response_unavailable(req, err))
            break;
        response_error(req, 500, "Internal Server Error", NULL, "eventbus '%s': %s", name,
                       vane_strerror(err));
        break;
    }
}

static void answer(struct pending *op, int status, const struct eventbus_meta *bus)
{
    h2o_req_t *req = op->later.req;
    h2o_iovec_t location;

    if (status != 0) {
        answer_failure(req, status, op->name, NULL);
        return;
    }
    switch (op->kind) {
    case OP_CREATE:
        location = h2o_concat(&req->pool, h2o_iovec_init(H2O_STRLIT(PREFIX "/")),
                              h2o_iovec_init(op->name, strlen(op->name)));
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_LOCATION, NULL, location.base,
                       location.len);
        response_json(req, 201, "Created", bus_json(op->gw, bus));
        break;
    case OP_UPDATE:
        response_json(req, 200, "OK", bus_json(op->gw, bus));
        break;
    case OP_DELETE:
        response_json(req, 200, "OK", json_pack("{s:s, s:b}", "name", op->name, "deleted", 1));
        break;
    }
}

/* The controller's (or store's) callback for every operation. */
static void on_done(void *arg, int status, const struct eventbus_meta *bus)
{
    struct pending *op = arg;

    if (status == 0 && op->kind == OP_DELETE)
        publish_forget_eventbus(op->gw, op->bus_id, op->name);
    if (op->later.req != NULL)
        answer(op, status, bus);
    pending_free(op);
}

/* A proposal refused at once: its callback never runs. */
static void refused(struct pending *op, int err, const char *errmsg)
{
    answer_failure(op->later.req, err, op->name, errmsg);
    pending_free(op);
}

/* ---- the operations ------------------------------------------------------ */

static void create_bus(struct gateway *gw, h2o_req_t *req)
{
    json_t *body = admin_read_body(req);
    struct eventbus_meta spec;
    struct bus_input in;
    struct pending *op;
    char *errmsg = NULL;
    int err;

    if (body == NULL || read_input(req, body, &in) || check_new_name(req, in.name))
        goto done;
    memset(&spec, 0, sizeof(spec));
    spec.name = (char *)json_string_value(in.name);
    spec.eventlog_count = in.count_field != NULL ? (uint32_t)in.eventlog_count : 1;
    spec.description = (char *)(in.description != NULL ? in.description : "");
    spec.retention_max_age_s = in.max_age_seconds >= 0 ? in.max_age_seconds : 0;
    spec.retention_max_bytes = in.max_bytes >= 0 ? (uint64_t)in.max_bytes : 0;
    op = pending_new(gw, req, OP_CREATE, spec.name);
    if ((err = store_create_eventbus(gw->store, &spec, on_done, op, &errmsg)) != 0)
        refused(op, err, errmsg);
    vane_free(errmsg);
done:
    json_decref(body);
}

/* ?system=true: the broker's own eventbuses (named __...) are listed too. */
static int list_system(h2o_req_t *req, bool *system)
{
    struct query_param param;
    size_t cursor = 0;
    int rc;

    *system = false;
    while ((rc = query_next(req, &cursor, &param)) > 0) {
        if (strcmp(param.name, "system") != 0 ||
            (strcmp(param.value, "true") != 0 && strcmp(param.value, "false") != 0)) {
            response_error(req, 400, "Bad Request", param.name,
                           "query: expected system=true or system=false, the only option of "
                           "the list");
            return -1;
        }
        *system = strcmp(param.value, "true") == 0;
    }
    if (rc < 0)
        response_error(req, 400, "Bad Request", NULL,
                       "malformed query: expected name=value pairs joined by &");
    return rc;
}

static void list_buses(struct gateway *gw, h2o_req_t *req)
{
    size_t count;
    const struct eventbus_meta *const *buses = controller_list(store_controller(gw->store), &count);
    json_t *array;
    bool system;

    if (list_system(req, &system) != 0)
        return;
    array = json_array();
    for (size_t i = 0; i < count; i++)
        if (system || strncmp(buses[i]->name, "__", 2) != 0)
            json_array_append_new(array, bus_json(gw, buses[i]));
    response_json(req, 200, "OK", json_pack("{s:o}", "eventbuses", array));
}

static void show_bus(struct gateway *gw, h2o_req_t *req, const char *name)
{
    const struct eventbus_meta *meta = controller_find(store_controller(gw->store), name);

    if (meta == NULL)
        answer_failure(req, -ENOENT, name, NULL);
    else
        response_json(req, 200, "OK", bus_json(gw, meta));
}

/* Checks that an update leaves name and eventlog count as they are; answers 400 if not. */
static int check_unchanged(h2o_req_t *req, const struct bus_input *in,
                           const struct eventbus_meta *current)
{
    if (in->name != NULL && (!json_is_string(in->name) ||
                             strcmp(json_string_value(in->name), current->name) != 0)) {
        response_error(req, 400, "Bad Request", "name",
                       "name: an eventbus cannot be renamed; leave name out or give '%s'",
                       current->name);
        return 1;
    }
    if (in->count_field != NULL && in->eventlog_count != (json_int_t)current->eventlog_count) {
        response_error(req, 400, "Bad Request", in->count_field,
                       "%s: the number of eventlogs cannot change (it is %u); create another "
                       "eventbus for a different count", in->count_field, current->eventlog_count);
        return 1;
    }
    return 0;
}

static void update_bus(struct gateway *gw, h2o_req_t *req, const char *name)
{
    struct controller *c = store_controller(gw->store);
    const struct eventbus_meta *current = controller_find(c, name);
    json_t *body = NULL;
    struct eventbus_meta spec;
    struct bus_input in;
    struct pending *op;
    char *errmsg = NULL;
    int err;

    if (current == NULL) {
        answer_failure(req, -ENOENT, name, NULL);
        return;
    }
    if ((body = admin_read_body(req)) == NULL || read_input(req, body, &in) ||
        check_unchanged(req, &in, current))
        goto done;
    spec = *current; /* what the body leaves out stays as it is */
    if (in.description != NULL)
        spec.description = (char *)in.description;
    if (in.max_age_seconds >= 0)
        spec.retention_max_age_s = in.max_age_seconds;
    if (in.max_bytes >= 0)
        spec.retention_max_bytes = (uint64_t)in.max_bytes;
    op = pending_new(gw, req, OP_UPDATE, name);
    if ((err = controller_update_eventbus(c, &spec, on_done, op, &errmsg)) != 0)
        refused(op, err, errmsg);
    vane_free(errmsg);
done:
    json_decref(body);
}

static void delete_bus(struct gateway *gw, h2o_req_t *req, const char *name)
{
    struct pending *op = pending_new(gw, req, OP_DELETE, name);
    const struct eventbus_meta *meta = controller_find(store_controller(gw->store), name);
    int err;

    op->bus_id = meta ? meta->id : 0;
    err = controller_delete_eventbus(store_controller(gw->store), name, on_done, op);

    if (err != 0)
        refused(op, err, NULL);
}

/* ---- routing ------------------------------------------------------------- */

static bool method_is(const h2o_req_t *req, const char *method)
{
    return h2o_memis(req->method.base, req->method.len, method, strlen(method));
}

static void serve_collection(struct gateway *gw, h2o_req_t *req)
{
    if (response_check_method(req, "GET, HEAD, POST") || gateway_check_ready(gw, req))
        return;
    if (method_is(req, "POST"))
        create_bus(gw, req);
    else
        list_buses(gw, req);
}

static void serve_bus(struct gateway *gw, h2o_req_t *req, const char *name)
{
    if (response_check_method(req, "GET, HEAD, PUT, DELETE") || gateway_check_ready(gw, req))
        return;
    if (method_is(req, "GET") || method_is(req, "HEAD"))
        show_bus(gw, req, name);
    else if (admin_is_system_name(name))
        response_error(req, 400, "Bad Request", "name",
                       "name: '%s' is a system eventbus, managed by the broker itself", name);
    else if (method_is(req, "PUT"))
        update_bus(gw, req, name);
    else
        delete_bus(gw, req, name);
}

static int on_request(h2o_handler_t *self, h2o_req_t *req)
{
    struct gateway *gw = ((struct eventbuses_handler *)self)->gw;
    struct route route;

    if (auth_check(gw->auth, req, AUTH_ADMIN) || parse_route(req, &route))
        return 0;
    switch (route.target) {
    case TARGET_COLLECTION:
        serve_collection(gw, req);
        break;
    case TARGET_BUS:
        serve_bus(gw, req, route.name);
        break;
    case TARGET_EVENTS:
        events_read(gw, req, route.name);
        break;
    }
    return 0;
}

void eventbuses_register(struct http_server *server, struct gateway *gw)
{
    struct eventbuses_handler *h;

    h = (struct eventbuses_handler *)http_server_route(server, PREFIX, on_request, sizeof(*h));
    h->gw = gw;
}

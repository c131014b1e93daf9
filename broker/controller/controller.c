/*
 * controller.c -- the metadata state machine and its commands (see
 * controller.h).
 *
 * A command is one raft entry holding JSON:
 *
 *     {"op": "create", "bus": {"name": ..., "eventlog_count": n, "retention":
 *         {"max_age_s": s, "max_bytes": b}, "description": ..., "at": ns}}
 *     {"op": "update", "bus": {"name": ..., "retention": {...}, "description": ..., "at": ns}}
 *     {"op": "delete", "name": ...}
 *     {"op": "sub_create" | "sub_update" | ..., ...}   (subscriptions.c)
 *     {"op": "conn_put" | "conn_delete", ...}           (connectors.c)
 *     {"op": "node_add" | ... | "place", ...}             (members.c)
 *
 * Requests are checked before they are proposed, and checked again when
 * applied (a name may have been taken meanwhile); the outcome travels back
 * as the apply result, a negative error or NULL for success.
 */
#include <errno.h>
#include <string.h>

#include <jansson.h>

#include "cluster/cluster.h"
#include "controller/controller_internal.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/log.h"
#include "event/timestamp.h"
#include "raft/replica.h"

static const char component[] = "controller";

/* ---- the state ----------------------------------------------------------- */

static void bus_free(struct eventbus_meta *bus)
{
    if (bus == NULL)
        return;
    vane_free(bus->name);
    vane_free(bus->description);
    vane_free(bus);
}

static ssize_t find_index(const struct controller *c, const char *name)
{
    for (size_t i = 0; i < c->count; i++)
        if (strcmp(c->buses[i]->name, name) == 0)
            return (ssize_t)i;
    return -1;
}

const struct eventbus_meta *controller_find(const struct controller *c, const char *name)
{
    ssize_t i = name != NULL ? find_index(c, name) : -1;

    return i < 0 ? NULL : c->buses[i];
}

struct eventbus_meta *controller_find_mutable(struct controller *c, const char *name)
{
    ssize_t i = name != NULL ? find_index(c, name) : -1;

    return i < 0 ? NULL : c->buses[i];
}

const struct eventbus_meta *const *controller_list(const struct controller *c, size_t *count)
{
    *count = c->count;
    return (const struct eventbus_meta *const *)c->buses;
}

static void add_bus(struct controller *c, struct eventbus_meta *bus)
{
    if (c->count == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 8;
        c->buses = vane_realloc(c->buses, c->cap * sizeof(*c->buses));
    }
    c->buses[c->count++] = bus;
}

static void clear_state(struct controller *c)
{
    for (size_t i = 0; i < c->count; i++)
        bus_free(c->buses[i]);
    c->count = 0;
    subscriptions_clear(c);
    connectors_clear(c);
    members_clear(c);
}

/* ---- JSON forms ---------------------------------------------------------- */

/* [[node, ...], ...]: each eventlog's replicas; NULL on a single node. */
static json_t *replicas_to_json(const struct eventbus_meta *bus)
{
    json_t *all;

    if (bus->replica_count == 0)
        return NULL;
    all = json_array();
    for (uint32_t i = 0; i < bus->eventlog_count; i++) {
        json_t *nodes = json_array();

        for (uint32_t r = 0; r < bus->replica_count; r++)
            json_array_append_new(nodes, json_integer((json_int_t)bus->replicas[i][r]));
        json_array_append_new(all, nodes);
    }
    return all;
}

static void replicas_from_json(struct eventbus_meta *bus, const json_t *all)
{
    const json_t *nodes = json_array_get(all, 0);

    bus->replica_count = (uint32_t)json_array_size(nodes);
    if (bus->replica_count > CONTROLLER_MAX_REPLICAS)
        bus->replica_count = CONTROLLER_MAX_REPLICAS;
    for (uint32_t i = 0; i < bus->eventlog_count; i++)
        for (uint32_t r = 0; r < bus->replica_count; r++)
            bus->replicas[i][r] = (uint64_t)json_integer_value(
                json_array_get(json_array_get(all, i), r));
}

static json_t *bus_to_json(const struct eventbus_meta *bus)
{
    json_t *ids = json_array(), *obj, *replicas = replicas_to_json(bus);

    for (uint32_t i = 0; i < bus->eventlog_count; i++)
        json_array_append_new(ids, json_integer((json_int_t)bus->eventlog_ids[i]));
    obj = json_pack("{s:s, s:I, s:i, s:o, s:{s:I, s:I}, s:s, s:I, s:I, s:I}", "name", bus->name,
                     "id", (json_int_t)bus->id, "eventlog_count", (int)bus->eventlog_count,
                     "eventlog_ids", ids, "retention", "max_age_s",
                     (json_int_t)bus->retention_max_age_s, "max_bytes",
                     (json_int_t)bus->retention_max_bytes, "description",
                     bus->description ? bus->description : "", "created_at",
                     (json_int_t)bus->created_at, "updated_at", (json_int_t)bus->updated_at,
                     "created_index", (json_int_t)bus->created_index);
    if (replicas != NULL)
        json_object_set_new(obj, "replicas", replicas);
    return obj;
}

/* Reads the fields a command or snapshot carries; absent ones stay zero. */
static struct eventbus_meta *bus_from_json(const json_t *obj)
{
    struct eventbus_meta *bus;
    const char *name = json_string_value(json_object_get(obj, "name"));
    const json_t *ids = json_object_get(obj, "eventlog_ids"), *ret = json_object_get(obj, "retention");
    const char *description = json_string_value(json_object_get(obj, "description"));

    if (name == NULL)
        return NULL;
    bus = VANE_NEW(bus);
    bus->name = vane_strdup(name);
    bus->description = vane_strdup(description ? description : "");
    bus->id = (uint64_t)json_integer_value(json_object_get(obj, "id"));
    bus->eventlog_count = (uint32_t)json_integer_value(json_object_get(obj, "eventlog_count"));
    if (bus->eventlog_count > CONTROLLER_MAX_EVENTLOGS)
        bus->eventlog_count = CONTROLLER_MAX_EVENTLOGS;
    for (size_t i = 0; i < json_array_size(ids) && i < bus->eventlog_count; i++)
        bus->eventlog_ids[i] = (uint64_t)json_integer_value(json_array_get(ids, i));
    bus->retention_max_age_s = json_integer_value(json_object_get(ret, "max_age_s"));
    bus->retention_max_bytes = (uint64_t)json_integer_value(json_object_get(ret, "max_bytes"));
    bus->created_at = json_integer_value(json_object_get(obj, "created_at"));
    bus->updated_at = json_integer_value(json_object_get(obj, "updated_at"));
    bus->created_index = (uint64_t)json_integer_value(json_object_get(obj, "created_index"));
    replicas_from_json(bus, json_object_get(obj, "replicas"));
    return bus;
}

/* ---- the state machine --------------------------------------------------- */

void controller_announce(struct controller *c, enum controller_change change,
                         const struct eventbus_meta *bus)
{
    if (c->ready && c->listener != NULL)
        c->listener(c, change, bus, c->listener_arg);
}

static int apply_create(struct controller *c, const json_t *spec)
{
    struct eventbus_meta *bus = bus_from_json(spec);
    int64_t at = json_integer_value(json_object_get(spec, "at"));

    if (bus == NULL || bus->eventlog_count == 0) {
        bus_free(bus);
        return -EINVAL;
    }
    if (find_index(c, bus->name) >= 0) {
        bus_free(bus);
        return -EEXIST;
    }
    bus->id = c->next_id++;
    for (uint32_t i = 0; i < bus->eventlog_count; i++)
        bus->eventlog_ids[i] = c->next_id++;
    bus->created_at = bus->updated_at = at;
    bus->created_index = replica_applying_index(c->replica);
    add_bus(c, bus);
    controller_announce(c, CONTROLLER_CREATED, bus);
    return 0;
}

static int apply_update(struct controller *c, const json_t *spec)
{
    const char *name = json_string_value(json_object_get(spec, "name"));
    ssize_t i = name ? find_index(c, name) : -1;
    struct eventbus_meta *bus, *changes;

    if (i < 0)
        return -ENOENT;
    bus = c->buses[i];
    changes = bus_from_json(spec);
    bus->retention_max_age_s = changes->retention_max_age_s;
    bus->retention_max_bytes = changes->retention_max_bytes;
    vane_free(bus->description);
    bus->description = vane_strdup(changes->description);
    bus->updated_at = json_integer_value(json_object_get(spec, "at"));
    bus_free(changes);
    controller_announce(c, CONTROLLER_UPDATED, bus);
    return 0;
}

static int apply_delete(struct controller *c, const char *name)
{
    ssize_t i = name ? find_index(c, name) : -1;
    struct eventbus_meta *bus;

    if (i < 0)
        return -ENOENT;
    bus = c->buses[i];
    memmove(c->buses + i, c->buses + i + 1, (c->count - (size_t)i - 1) * sizeof(*c->buses));
    c->count--;
    subscriptions_drop_eventbus(c, bus->name);
    controller_announce(c, CONTROLLER_DELETED, bus);
    bus_free(bus);
    return 0;
}

static int fsm_apply(struct raft_fsm *fsm, const struct raft_buffer *buf, void **result)
{
    struct controller *c = fsm->data;
    json_t *cmd = json_loadb(buf->base, strnlen(buf->base, buf->len), 0, NULL);
    const char *op = json_string_value(json_object_get(cmd, "op"));
    int status = -EINVAL;

    if (op != NULL && strcmp(op, "create") == 0)
        status = apply_create(c, json_object_get(cmd, "bus"));
    else if (op != NULL && strcmp(op, "update") == 0)
        status = apply_update(c, json_object_get(cmd, "bus"));
    else if (op != NULL && strcmp(op, "delete") == 0)
        status = apply_delete(c, json_string_value(json_object_get(cmd, "name")));
    else if (op != NULL && strncmp(op, "sub_", 4) == 0)
        status = subscriptions_apply(c, op, cmd);
    else if (op != NULL && strncmp(op, "conn_", 5) == 0)
        status = connectors_apply(c, op, cmd);
    else if (op != NULL && (strncmp(op, "node_", 5) == 0 || strcmp(op, "place") == 0))
        status = members_apply(c, op, cmd);
    else
        vane_log_error(component, "unknown command in the metadata log; skipped");
    json_decref(cmd);
    *result = (void *)(intptr_t)status;
    return 0;
}

static int fsm_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n_bufs)
{
    struct controller *c = fsm->data;
    json_t *buses = json_array(), *state;
    struct raft_buffer *buf = raft_malloc(sizeof(*buf));
    char *text;

    for (size_t i = 0; i < c->count; i++)
        json_array_append_new(buses, bus_to_json(c->buses[i]));
    state = json_pack("{s:I, s:o, s:o, s:o, s:o}", "next_id", (json_int_t)c->next_id, "buses",
                      buses, "subscriptions", subscriptions_to_json(c), "connectors",
                      connectors_to_json(c), "nodes", members_to_json(c));
    text = json_dumps(state, JSON_COMPACT);
    json_decref(state);
    /* raft's libuv backend wants lengths in multiples of 8: pad with NULs. */
    buf->len = (strlen(text) + 8) & ~(size_t)7;
    buf->base = raft_calloc(1, buf->len);
    memcpy(buf->base, text, strlen(text));
    free(text);
    *bufs = buf;
    *n_bufs = 1;
    return 0;
}

static int fsm_snapshot_finalize(struct raft_fsm *fsm, struct raft_buffer *bufs[],
                                 unsigned *n_bufs)
{
    (void)fsm;
    replica_free_snapshot(bufs, n_bufs);
    return 0;
}

static int fsm_restore(struct raft_fsm *fsm, struct raft_buffer *buf)
{
    struct controller *c = fsm->data;
    json_t *state = json_loadb(buf->base, strnlen(buf->base, buf->len), 0, NULL);
    json_t *bus;
    size_t i;

    if (!json_is_object(state)) {
        vane_log_error(component, "the metadata snapshot is not JSON");
        json_decref(state);
        return RAFT_CORRUPT;
    }
    clear_state(c);
    c->next_id = (uint64_t)json_integer_value(json_object_get(state, "next_id"));
    json_array_foreach(json_object_get(state, "buses"), i, bus) {
        struct eventbus_meta *meta = bus_from_json(bus);

        if (meta != NULL)
            add_bus(c, meta);
    }
    subscriptions_from_json(c, json_object_get(state, "subscriptions"));
    connectors_from_json(c, json_object_get(state, "connectors"));
    members_from_json(c, json_object_get(state, "nodes"));
    json_decref(state);
    raft_free(buf->base);
    if (c->ready) { /* a follower that fell behind: what it held is gone */
        members_ready(c);
        controller_announce(c, CONTROLLER_RESTORED, NULL);
    }
    return 0;
}

/* ---- requests ------------------------------------------------------------ */

static void maybe_closed(struct controller *c);

static void request_free(struct request *req)
{
    vane_free(req->name);
    vane_free(req);
}

static void on_applied(void *arg, int status, void *result)
{
    struct request *req = arg;
    struct controller *c = req->c;

    c->inflight--;
    if (status == 0)
        status = (int)(intptr_t)result;
    if (req->kind == REQUEST_SUBSCRIPTION)
        subscriptions_answer(c, req, status);
    else if (req->kind == REQUEST_CONNECTOR)
        connectors_answer(c, req, status);
    else if (req->kind == REQUEST_NODE && req->node_done != NULL)
        req->node_done(req->arg, status);
    else if (req->bus_done != NULL)
        req->bus_done(req->arg, status, status == 0 ? controller_find(c, req->name) : NULL);
    request_free(req);
    if (c->closing)
        maybe_closed(c);
}

int controller_propose(struct controller *c, json_t *cmd, struct request *req)
{
    char *text = json_dumps(cmd, JSON_COMPACT);
    size_t len = strlen(text) + 1;
    char *buf = raft_malloc(len);
    int err;

    memcpy(buf, text, len);
    free(text);
    json_decref(cmd);
    req->c = c;
    if (c->closing)
        err = VANE_ESHUTDOWN;
    else if (!c->ready)
        err = VANE_ENOTREADY;
    else
        err = replica_apply(c->replica, buf, len, on_applied, req);
    if (err != 0) {
        raft_free(buf);
        request_free(req);
        return err;
    }
    c->inflight++;
    return 0;
}

static int propose(struct controller *c, json_t *cmd, const char *name, controller_done_cb done,
                   void *arg)
{
    struct request *req = VANE_NEW(req);

    req->bus_done = done;
    req->arg = arg;
    req->name = vane_strdup(name);
    return controller_propose(c, cmd, req);
}

int controller_check_name(const char *name, char **errmsg)
{
    size_t len = name ? strlen(name) : 0;

    if (len == 0 || len > CONTROLLER_MAX_NAME ||
        strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != len) {
        *errmsg = vane_asprintf("name: expected 1 to %d letters, digits, '_', '.' or '-'",
                                CONTROLLER_MAX_NAME);
        return -EINVAL;
    }
    return 0;
}

static json_t *spec_json(const struct eventbus_meta *spec)
{
    return json_pack("{s:s, s:i, s:{s:I, s:I}, s:s, s:I}", "name", spec->name, "eventlog_count",
                     (int)spec->eventlog_count, "retention", "max_age_s",
                     (json_int_t)spec->retention_max_age_s, "max_bytes",
                     (json_int_t)spec->retention_max_bytes, "description",
                     spec->description ? spec->description : "", "at",
                     (json_int_t)timestamp_now());
}

/* Every eventlog placed so far: where the next eventbus's first one starts. */
static uint64_t eventlogs_placed(const struct controller *c)
{
    uint64_t n = 0;

    for (size_t i = 0; i < c->count; i++)
        n += c->buses[i]->eventlog_count;
    return n;
}

/* A create command: the spec and, in a cluster, where each eventlog's replicas go. */
static json_t *create_json(const struct controller *c, const struct eventbus_meta *spec)
{
    json_t *obj = spec_json(spec), *all;
    uint64_t seed, nodes[CLUSTER_MAX_REPLICAS];

    if (c->cluster == NULL)
        return obj;
    all = json_array();
    seed = eventlogs_placed(c);
    for (uint32_t i = 0; i < spec->eventlog_count; i++) {
        unsigned n = cluster_place(&c->cluster->members, seed, i, nodes);
        json_t *list = json_array();

        for (unsigned r = 0; r < n; r++)
            json_array_append_new(list, json_integer((json_int_t)nodes[r]));
        json_array_append_new(all, list);
    }
    json_object_set_new(obj, "replicas", all);
    return obj;
}

static int check_retention(const struct eventbus_meta *spec, char **errmsg)
{
    if (spec->retention_max_age_s < 0) {
        *errmsg = vane_strdup("retention.max_age: expected a duration of 0 (keep forever) or more");
        return -EINVAL;
    }
    return 0;
}

int controller_create_eventbus(struct controller *c, const struct eventbus_meta *spec,
                               controller_done_cb done, void *arg, char **errmsg)
{
    int err;

    if ((err = controller_check_name(spec->name, errmsg)) != 0 ||
        (err = check_retention(spec, errmsg)) != 0)
        return err;
    if (spec->eventlog_count < 1 || spec->eventlog_count > CONTROLLER_MAX_EVENTLOGS) {
        *errmsg = vane_asprintf("eventlog_count: expected 1 to %d; got %u",
                                CONTROLLER_MAX_EVENTLOGS, spec->eventlog_count);
        return -EINVAL;
    }
    if (controller_find(c, spec->name) != NULL) {
        *errmsg = vane_asprintf("name: eventbus '%s' already exists", spec->name);
        return -EEXIST;
    }
    return propose(c, json_pack("{s:s, s:o}", "op", "create", "bus", create_json(c, spec)),
                   spec->name, done, arg);
}

int controller_update_eventbus(struct controller *c, const struct eventbus_meta *spec,
                               controller_done_cb done, void *arg, char **errmsg)
{
    int err;

    if ((err = check_retention(spec, errmsg)) != 0)
        return err;
    if (controller_find(c, spec->name) == NULL) {
        *errmsg = vane_asprintf("no eventbus named '%s'", spec->name);
        return -ENOENT;
    }
    return propose(c, json_pack("{s:s, s:o}", "op", "update", "bus", spec_json(spec)),
                   spec->name, done, arg);
}

int controller_delete_eventbus(struct controller *c, const char *name, controller_done_cb done,
                               void *arg)
{
    if (controller_find(c, name) == NULL)
        return -ENOENT;
    return propose(c, json_pack("{s:s, s:s}", "op", "delete", "name", name), name, done, arg);
}

/* ---- life cycle ---------------------------------------------------------- */

void controller_set_listener(struct controller *c, controller_listener_cb cb, void *arg)
{
    c->listener = cb;
    c->listener_arg = arg;
}

static void on_ready(struct replica *replica, int status, void *arg)
{
    struct controller *c = arg;

    (void)replica;
    c->ready = status == 0;
    if (c->ready)
        members_ready(c);
    c->ready_cb(c, status, c->ready_arg);
}

int controller_open(struct controller **out, uv_loop_t *loop, const char *dir,
                    struct cluster *cluster, controller_ready_cb ready, void *arg,
                    char **errmsg)
{
    struct controller *c = VANE_NEW(c);
    struct replica_options ropt = {.snapshot_threshold = 64, .snapshot_trailing = 16,
                                   .await_local_apply = true};
    struct cluster_group group;
    int err;

    if (cluster != NULL) {
        cluster_group(cluster, CLUSTER_CONTROLLER_GROUP, NULL, 0, &group);
        ropt.cluster = &group.rc;
        ropt.join = cluster->join;
    }
    c->cluster = cluster;
    c->nodes = json_array();
    c->loop = loop;
    c->next_id = 1;
    c->ready_cb = ready;
    c->ready_arg = arg;
    c->fsm = (struct raft_fsm){.version = 2, .data = c, .apply = fsm_apply,
                               .snapshot = fsm_snapshot, .restore = fsm_restore,
                               .snapshot_finalize = fsm_snapshot_finalize};
    if ((err = replica_start(&c->replica, loop, dir, &c->fsm, &ropt, on_ready, c, errmsg)) != 0) {
        clear_state(c);
        json_decref(c->nodes);
        vane_free(c->buses);
        vane_free(c);
        return err;
    }
    *out = c;
    return 0;
}

static void maybe_closed(struct controller *c)
{
    if (!c->replica_closed || c->inflight > 0)
        return;
    if (c->close_cb != NULL)
        c->close_cb(c->close_arg);
    clear_state(c);
    json_decref(c->nodes);
    vane_free(c->buses);
    vane_free(c->subs);
    vane_free(c->conns);
    vane_free(c);
}

static void on_replica_closed(struct replica *replica, void *arg)
{
    struct controller *c = arg;

    (void)replica;
    c->replica_closed = true;
    maybe_closed(c);
}

void controller_close(struct controller *c, controller_close_cb cb, void *arg)
{
    c->closing = true;
    c->close_cb = cb;
    c->close_arg = arg;
    replica_close(c->replica, on_replica_closed, c);
}

struct replica *controller_replica(struct controller *c)
{
    return c->replica;
}

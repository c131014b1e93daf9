/*
 * connectors.c -- connectors in the metadata state machine (see
 * controller.h).  Commands, one raft entry each:
 *
 *     {"op": "conn_put", "conn": {"name", "spec", "at"}, "create": true|false}
 *     {"op": "conn_delete", "name"}
 *
 * A connector is a name and the spec the API accepted (plugin, options,
 * eventbus or subscription, min/max instances, ...): the controller keeps
 * it and tells the engine of every change; what the spec means is the
 * engine's business (engine/engine.h), checked before it is proposed.  A
 * create of a name that exists and an update of one that does not fail
 * with -EEXIST and -ENOENT when applied, so two racing requests cannot
 * both win.  The snapshot holds every connector in the form of the put
 * command.
 */
#include <errno.h>
#include <string.h>

#include "controller/controller_internal.h"
#include "core/alloc.h"
#include "event/timestamp.h"

static void conn_free(struct connector_meta *conn)
{
    if (conn == NULL)
        return;
    vane_free(conn->name);
    json_decref(conn->spec);
    vane_free(conn);
}

static ssize_t find_conn(const struct controller *c, const char *name)
{
    for (size_t i = 0; i < c->conn_count; i++)
        if (strcmp(c->conns[i]->name, name) == 0)
            return (ssize_t)i;
    return -1;
}

const struct connector_meta *controller_find_connector(const struct controller *c,
                                                       const char *name)
{
    ssize_t i = find_conn(c, name);

    return i < 0 ? NULL : c->conns[i];
}

const struct connector_meta *const *controller_connectors(const struct controller *c,
                                                          size_t *count)
{
    *count = c->conn_count;
    return (const struct connector_meta *const *)c->conns;
}

static void announce(struct controller *c, enum controller_change change,
                     const struct connector_meta *conn)
{
    if (c->ready && c->conn_listener != NULL)
        c->conn_listener(c, change, conn, c->conn_listener_arg);
}

static void add_conn(struct controller *c, struct connector_meta *conn)
{
    if (c->conn_count == c->conn_cap) {
        c->conn_cap = c->conn_cap ? c->conn_cap * 2 : 8;
        c->conns = vane_realloc(c->conns, c->conn_cap * sizeof(*c->conns));
    }
    c->conns[c->conn_count++] = conn;
}

void connectors_clear(struct controller *c)
{
    for (size_t i = 0; i < c->conn_count; i++)
        conn_free(c->conns[i]);
    c->conn_count = 0;
}

/* ---- JSON forms ---------------------------------------------------------- */

static json_t *conn_to_json(const struct connector_meta *conn)
{
    return json_pack("{s:I, s:s, s:O, s:I, s:I}", "id", (json_int_t)conn->id, "name", conn->name,
                     "spec", conn->spec, "created_at", (json_int_t)conn->created_at,
                     "updated_at", (json_int_t)conn->updated_at);
}

static struct connector_meta *conn_from_json(const json_t *obj)
{
    const char *name = json_string_value(json_object_get(obj, "name"));
    struct connector_meta *conn;

    if (name == NULL || !json_is_object(json_object_get(obj, "spec")))
        return NULL;
    conn = VANE_NEW(conn);
    conn->id = (uint64_t)json_integer_value(json_object_get(obj, "id"));
    conn->name = vane_strdup(name);
    conn->spec = json_deep_copy(json_object_get(obj, "spec"));
    conn->created_at = json_integer_value(json_object_get(obj, "created_at"));
    conn->updated_at = json_integer_value(json_object_get(obj, "updated_at"));
    return conn;
}

json_t *connectors_to_json(const struct controller *c)
{
    json_t *array = json_array();

    for (size_t i = 0; i < c->conn_count; i++)
        json_array_append_new(array, conn_to_json(c->conns[i]));
    return array;
}

void connectors_from_json(struct controller *c, const json_t *conns)
{
    size_t i;
    json_t *obj;

    json_array_foreach(conns, i, obj) {
        struct connector_meta *conn = conn_from_json(obj);

        if (conn != NULL)
            add_conn(c, conn);
    }
}

/* ---- applying commands ---------------------------------------------------- */

static int apply_put(struct controller *c, const json_t *cmd)
{
    struct connector_meta *conn = conn_from_json(json_object_get(cmd, "conn"));
    int64_t at = json_integer_value(json_object_get(json_object_get(cmd, "conn"), "at"));
    ssize_t i;

    if (conn == NULL)
        return -EINVAL;
    i = find_conn(c, conn->name);
    if (json_is_true(json_object_get(cmd, "create")) != (i < 0)) {
        conn_free(conn);
        return i < 0 ? -ENOENT : -EEXIST;
    }
    conn->updated_at = at;
    if (i < 0) {
        conn->id = c->next_id++;
        conn->created_at = at;
        add_conn(c, conn);
        announce(c, CONTROLLER_CREATED, conn);
        return 0;
    }
    conn->id = c->conns[i]->id;
    conn->created_at = c->conns[i]->created_at;
    conn_free(c->conns[i]);
    c->conns[i] = conn;
    announce(c, CONTROLLER_UPDATED, conn);
    return 0;
}

static int apply_delete(struct controller *c, const json_t *cmd)
{
    const char *name = json_string_value(json_object_get(cmd, "name"));
    ssize_t i = name ? find_conn(c, name) : -1;
    struct connector_meta *conn;

    if (i < 0)
        return -ENOENT;
    conn = c->conns[i];
    memmove(c->conns + i, c->conns + i + 1, (c->conn_count - (size_t)i - 1) * sizeof(*c->conns));
    c->conn_count--;
    announce(c, CONTROLLER_DELETED, conn);
    conn_free(conn);
    return 0;
}

int connectors_apply(struct controller *c, const char *op, const json_t *cmd)
{
    if (strcmp(op, "conn_put") == 0)
        return apply_put(c, cmd);
    if (strcmp(op, "conn_delete") == 0)
        return apply_delete(c, cmd);
    return -EINVAL;
}

/* ---- requests ------------------------------------------------------------ */

void connectors_answer(struct controller *c, struct request *req, int status)
{
    if (req->conn_done != NULL)
        req->conn_done(req->arg, status,
                       status == 0 ? controller_find_connector(c, req->name) : NULL);
}

static int propose(struct controller *c, json_t *cmd, const char *name,
                   controller_conn_done_cb done, void *arg)
{
    struct request *req = VANE_NEW(req);

    req->kind = REQUEST_CONNECTOR;
    req->conn_done = done;
    req->arg = arg;
    req->name = vane_strdup(name);
    return controller_propose(c, cmd, req);
}

int controller_put_connector(struct controller *c, const char *name, json_t *spec, bool create,
                             controller_conn_done_cb done, void *arg, char **errmsg)
{
    bool exists = controller_find_connector(c, name) != NULL;
    json_t *conn;
    int err;

    if ((err = controller_check_name(name, errmsg)) != 0)
        return err;
    if (create && exists) {
        *errmsg = vane_asprintf("name: a connector named '%s' already exists", name);
        return -EEXIST;
    }
    if (!create && !exists)
        return -ENOENT;
    conn = json_pack("{s:s, s:O, s:I}", "name", name, "spec", spec, "at",
                     (json_int_t)timestamp_now());
    return propose(c, json_pack("{s:s, s:o, s:b}", "op", "conn_put", "conn", conn, "create",
                                create),
                   name, done, arg);
}

int controller_delete_connector(struct controller *c, const char *name,
                                controller_conn_done_cb done, void *arg)
{
    if (controller_find_connector(c, name) == NULL)
        return -ENOENT;
    return propose(c, json_pack("{s:s, s:s}", "op", "conn_delete", "name", name), name, done,
                   arg);
}

void controller_set_connector_listener(struct controller *c, controller_conn_listener_cb cb,
                                       void *arg)
{
    c->conn_listener = cb;
    c->conn_listener_arg = arg;
}

/*
 * subscriptions.c -- subscriptions in the metadata state machine (see
 * controller.h).  Commands, one raft entry each:
 *
 *     {"op": "sub_create", "sub": {"name", "eventbus", "spec", "disabled",
 *                                  "offsets": [...], "at"}}
 *     {"op": "sub_update", "id", "name"?, "spec", "at"}
 *     {"op": "sub_state", "id", "disabled", "at"}
 *     {"op": "sub_offsets", "id", "offsets": [...], "reset"}
 *     {"op": "sub_delete", "id"}
 *
 * As for eventbuses, a request is checked before it is proposed and again
 * when applied; the snapshot holds every subscription in the form of the
 * create command (with its id and times).
 */
#include <errno.h>
#include <string.h>

#include "controller/controller_internal.h"
#include "core/alloc.h"
#include "event/timestamp.h"

/* ---- the state ----------------------------------------------------------- */

static void sub_free(struct subscription_meta *sub)
{
    if (sub == NULL)
        return;
    vane_free(sub->name);
    vane_free(sub->eventbus);
    json_decref(sub->spec);
    vane_free(sub);
}

static ssize_t find_sub(const struct controller *c, uint64_t id)
{
    for (size_t i = 0; i < c->sub_count; i++)
        if (c->subs[i]->id == id)
            return (ssize_t)i;
    return -1;
}

const struct subscription_meta *controller_find_subscription(const struct controller *c,
                                                             uint64_t id)
{
    ssize_t i = find_sub(c, id);

    return i < 0 ? NULL : c->subs[i];
}

const struct subscription_meta *controller_find_subscription_named(const struct controller *c,
                                                                   const char *name)
{
    for (size_t i = 0; i < c->sub_count; i++)
        if (strcmp(c->subs[i]->name, name) == 0)
            return c->subs[i];
    return NULL;
}

const struct subscription_meta *const *controller_subscriptions(const struct controller *c,
                                                                size_t *count)
{
    *count = c->sub_count;
    return (const struct subscription_meta *const *)c->subs;
}

static void add_sub(struct controller *c, struct subscription_meta *sub)
{
    if (c->sub_count == c->sub_cap) {
        c->sub_cap = c->sub_cap ? c->sub_cap * 2 : 8;
        c->subs = vane_realloc(c->subs, c->sub_cap * sizeof(*c->subs));
    }
    c->subs[c->sub_count++] = sub;
}

static void announce(struct controller *c, enum controller_change change,
                     const struct subscription_meta *sub)
{
    if (c->ready && c->sub_listener != NULL)
        c->sub_listener(c, change, sub, c->sub_listener_arg);
}

static void remove_at(struct controller *c, size_t i)
{
    struct subscription_meta *sub = c->subs[i];

    memmove(c->subs + i, c->subs + i + 1, (c->sub_count - i - 1) * sizeof(*c->subs));
    c->sub_count--;
    announce(c, CONTROLLER_DELETED, sub);
    sub_free(sub);
}

void subscriptions_drop_eventbus(struct controller *c, const char *eventbus)
{
    for (size_t i = c->sub_count; i-- > 0;)
        if (strcmp(c->subs[i]->eventbus, eventbus) == 0)
            remove_at(c, i);
}

void subscriptions_clear(struct controller *c)
{
    for (size_t i = 0; i < c->sub_count; i++)
        sub_free(c->subs[i]);
    c->sub_count = 0;
}

/* ---- JSON forms ---------------------------------------------------------- */

static json_t *offsets_json(const uint64_t *offsets, uint32_t count)
{
    json_t *array = json_array();

    for (uint32_t i = 0; i < count; i++)
        json_array_append_new(array, json_integer((json_int_t)offsets[i]));
    return array;
}

static uint32_t offsets_from_json(const json_t *array, uint64_t *offsets)
{
    uint32_t n = 0;

    for (; n < json_array_size(array) && n < CONTROLLER_MAX_EVENTLOGS; n++)
        offsets[n] = (uint64_t)json_integer_value(json_array_get(array, n));
    return n;
}

static json_t *sub_to_json(const struct subscription_meta *sub)
{
    return json_pack("{s:I, s:s, s:s, s:O, s:b, s:o, s:I, s:I}", "id", (json_int_t)sub->id,
                     "name", sub->name, "eventbus", sub->eventbus, "spec", sub->spec, "disabled",
                     sub->disabled, "offsets", offsets_json(sub->offsets, sub->offset_count),
                     "created_at", (json_int_t)sub->created_at, "updated_at",
                     (json_int_t)sub->updated_at);
}

static struct subscription_meta *sub_from_json(const json_t *obj)
{
    const char *name = json_string_value(json_object_get(obj, "name"));
    const char *bus = json_string_value(json_object_get(obj, "eventbus"));
    struct subscription_meta *sub;

    if (name == NULL || bus == NULL || !json_is_object(json_object_get(obj, "spec")))
        return NULL;
    sub = VANE_NEW(sub);
    sub->id = (uint64_t)json_integer_value(json_object_get(obj, "id"));
    sub->name = vane_strdup(name);
    sub->eventbus = vane_strdup(bus);
    sub->spec = json_deep_copy(json_object_get(obj, "spec"));
    sub->disabled = json_is_true(json_object_get(obj, "disabled"));
    sub->offset_count = offsets_from_json(json_object_get(obj, "offsets"), sub->offsets);
    sub->created_at = json_integer_value(json_object_get(obj, "created_at"));
    sub->updated_at = json_integer_value(json_object_get(obj, "updated_at"));
    return sub;
}

json_t *subscriptions_to_json(const struct controller *c)
{
    json_t *array = json_array();

    for (size_t i = 0; i < c->sub_count; i++)
        json_array_append_new(array, sub_to_json(c->subs[i]));
    return array;
}

void subscriptions_from_json(struct controller *c, const json_t *subs)
{
    size_t i;
    json_t *obj;

    json_array_foreach(subs, i, obj) {
        struct subscription_meta *sub = sub_from_json(obj);

        if (sub != NULL)
            add_sub(c, sub);
    }
}

/* ---- applying commands ---------------------------------------------------- */

static int apply_create(struct controller *c, const json_t *obj)
{
    struct subscription_meta *sub = sub_from_json(obj);
    const struct eventbus_meta *bus;
    int64_t at = json_integer_value(json_object_get(obj, "at"));

    if (sub == NULL)
        return -EINVAL;
    bus = controller_find(c, sub->eventbus);
    if (bus == NULL || controller_find_subscription_named(c, sub->name) != NULL ||
        sub->offset_count != bus->eventlog_count) {
        int err = -EINVAL;

        if (bus == NULL)
            err = -ENOENT;
        else if (sub->offset_count == bus->eventlog_count)
            err = -EEXIST;
        sub_free(sub);
        return err;
    }
    sub->id = c->next_id++;
    sub->created_at = sub->updated_at = at;
    add_sub(c, sub);
    announce(c, CONTROLLER_CREATED, sub);
    return 0;
}

static struct subscription_meta *target(struct controller *c, const json_t *cmd)
{
    ssize_t i = find_sub(c, (uint64_t)json_integer_value(json_object_get(cmd, "id")));

    return i < 0 ? NULL : c->subs[i];
}

static int apply_update(struct controller *c, const json_t *cmd)
{
    struct subscription_meta *sub = target(c, cmd);
    const char *name = json_string_value(json_object_get(cmd, "name"));
    const struct subscription_meta *other = name ? controller_find_subscription_named(c, name)
                                                 : NULL;

    if (sub == NULL)
        return -ENOENT;
    if (other != NULL && other != sub)
        return -EEXIST;
    if (name != NULL) {
        vane_free(sub->name);
        sub->name = vane_strdup(name);
    }
    json_decref(sub->spec);
    sub->spec = json_deep_copy(json_object_get(cmd, "spec"));
    sub->updated_at = json_integer_value(json_object_get(cmd, "at"));
    announce(c, CONTROLLER_UPDATED, sub);
    return 0;
}

static int apply_state(struct controller *c, const json_t *cmd)
{
    struct subscription_meta *sub = target(c, cmd);

    if (sub == NULL)
        return -ENOENT;
    sub->disabled = json_is_true(json_object_get(cmd, "disabled"));
    sub->updated_at = json_integer_value(json_object_get(cmd, "at"));
    announce(c, CONTROLLER_UPDATED, sub);
    return 0;
}

/* Offsets only move forward unless reset; announced only when reset (the
 * trigger made the other commits and knows them). */
static int apply_offsets(struct controller *c, const json_t *cmd)
{
    struct subscription_meta *sub = target(c, cmd);
    uint64_t offsets[CONTROLLER_MAX_EVENTLOGS];
    bool reset = json_is_true(json_object_get(cmd, "reset"));
    uint32_t n = offsets_from_json(json_object_get(cmd, "offsets"), offsets);

    if (sub == NULL)
        return -ENOENT;
    if (n != sub->offset_count)
        return -EINVAL;
    for (uint32_t i = 0; i < n; i++)
        if (reset || offsets[i] > sub->offsets[i])
            sub->offsets[i] = offsets[i];
    if (reset)
        announce(c, CONTROLLER_OFFSETS_RESET, sub);
    return 0;
}

static int apply_delete(struct controller *c, const json_t *cmd)
{
    ssize_t i = find_sub(c, (uint64_t)json_integer_value(json_object_get(cmd, "id")));

    if (i < 0)
        return -ENOENT;
    remove_at(c, (size_t)i);
    return 0;
}

int subscriptions_apply(struct controller *c, const char *op, const json_t *cmd)
{
    if (strcmp(op, "sub_create") == 0)
        return apply_create(c, json_object_get(cmd, "sub"));
    if (strcmp(op, "sub_update") == 0)
        return apply_update(c, cmd);
    if (strcmp(op, "sub_state") == 0)
        return apply_state(c, cmd);
    if (strcmp(op, "sub_offsets") == 0)
        return apply_offsets(c, cmd);
    if (strcmp(op, "sub_delete") == 0)
        return apply_delete(c, cmd);
    return -EINVAL;
}

/* ---- requests ------------------------------------------------------------ */

void subscriptions_answer(struct controller *c, struct request *req, int status)
{
    const struct subscription_meta *sub = NULL;

    if (status == 0)
        sub = req->name ? controller_find_subscription_named(c, req->name)
                        : controller_find_subscription(c, req->id);
    if (req->sub_done != NULL)
        req->sub_done(req->arg, status, sub);
}

static int propose(struct controller *c, json_t *cmd, const char *name, uint64_t id,
                   controller_sub_done_cb done, void *arg)
{
    struct request *req = VANE_NEW(req);

    req->kind = REQUEST_SUBSCRIPTION;
    req->sub_done = done;
    req->arg = arg;
    req->name = name ? vane_strdup(name) : NULL;
    req->id = id;
    return controller_propose(c, cmd, req);
}

int controller_create_subscription(struct controller *c, const struct subscription_meta *spec,
                                   controller_sub_done_cb done, void *arg, char **errmsg)
{
    const struct eventbus_meta *bus = controller_find(c, spec->eventbus ? spec->eventbus : "");
    struct subscription_meta copy = *spec;
    json_t *sub;
    int err;

    if ((err = controller_check_name(spec->name, errmsg)) != 0)
        return err;
    if (bus == NULL) {
        *errmsg = vane_asprintf("eventbus: no eventbus named '%s'",
                                spec->eventbus ? spec->eventbus : "");
        return -ENOENT;
    }
    if (controller_find_subscription_named(c, spec->name) != NULL) {
        *errmsg = vane_asprintf("name: a subscription named '%s' already exists", spec->name);
        return -EEXIST;
    }
    if (spec->offset_count != bus->eventlog_count || !json_is_object(spec->spec)) {
        *errmsg = vane_strdup("offsets: expected one per eventlog of the eventbus");
        return -EINVAL;
    }
    copy.created_at = copy.updated_at = 0;
    sub = sub_to_json(&copy);
    json_object_set_new(sub, "at", json_integer((json_int_t)timestamp_now()));
    return propose(c, json_pack("{s:s, s:o}", "op", "sub_create", "sub", sub), spec->name, 0,
                   done, arg);
}

int controller_update_subscription(struct controller *c, uint64_t id, const char *new_name,
                                   json_t *spec, controller_sub_done_cb done, void *arg,
                                   char **errmsg)
{
    const struct subscription_meta *other;
    json_t *cmd;
    int err;

    if (controller_find_subscription(c, id) == NULL)
        return -ENOENT;
    if (new_name != NULL) {
        if ((err = controller_check_name(new_name, errmsg)) != 0)
            return err;
        other = controller_find_subscription_named(c, new_name);
        if (other != NULL && other->id != id) {
            *errmsg = vane_asprintf("name: a subscription named '%s' already exists", new_name);
            return -EEXIST;
        }
    }
    cmd = json_pack("{s:s, s:I, s:O, s:I}", "op", "sub_update", "id", (json_int_t)id, "spec",
                    spec, "at", (json_int_t)timestamp_now());
    if (new_name != NULL)
        json_object_set_new(cmd, "name", json_string(new_name));
    return propose(c, cmd, NULL, id, done, arg);
}

int controller_set_subscription_disabled(struct controller *c, uint64_t id, bool disabled,
                                         controller_sub_done_cb done, void *arg)
{
    if (controller_find_subscription(c, id) == NULL)
        return -ENOENT;
    return propose(c,
                   json_pack("{s:s, s:I, s:b, s:I}", "op", "sub_state", "id", (json_int_t)id,
                             "disabled", disabled, "at", (json_int_t)timestamp_now()),
                   NULL, id, done, arg);
}

int controller_commit_offsets(struct controller *c, uint64_t id, const uint64_t *offsets,
                              uint32_t count, bool reset, controller_sub_done_cb done, void *arg)
{
    const struct subscription_meta *sub = controller_find_subscription(c, id);

    if (sub == NULL)
        return -ENOENT;
    if (count != sub->offset_count)
        return -EINVAL;
    return propose(c,
                   json_pack("{s:s, s:I, s:o, s:b}", "op", "sub_offsets", "id", (json_int_t)id,
                             "offsets", offsets_json(offsets, count), "reset", reset),
                   NULL, id, done, arg);
}

int controller_delete_subscription(struct controller *c, uint64_t id, controller_sub_done_cb done,
                                   void *arg)
{
    if (controller_find_subscription(c, id) == NULL)
        return -ENOENT;
    return propose(c, json_pack("{s:s, s:I}", "op", "sub_delete", "id", (json_int_t)id), NULL, id,
                   done, arg);
}

void controller_set_subscription_listener(struct controller *c, controller_sub_listener_cb cb,
                                          void *arg)
{
    c->sub_listener = cb;
    c->sub_listener_arg = arg;
}

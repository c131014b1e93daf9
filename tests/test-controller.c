/*
 * test-controller.c -- subscriptions in the metadata state machine: created
 * against an eventbus with one offset per eventlog, updated without losing
 * their offsets, disabled and resumed, offsets committed forward only
 * unless reset, everything kept across a restart of the raft group, and
 * deleted with their eventbus.  Bad requests are refused before they are
 * proposed, naming the field.
 */
#include <errno.h>
#include <string.h>

#include "controller/controller.h"
#include "core/alloc.h"
#include "harness.h"
#include "tap.h"

static uv_loop_t loop;

struct waitfor {
    bool done;
    int status;
    uint64_t id;
};

static void on_ready(struct controller *c, int status, void *arg)
{
    struct waitfor *w = arg;

    (void)c;
    w->done = true;
    w->status = status;
}

static struct controller *open_controller(const char *dir)
{
    struct waitfor w = {0};
    struct controller *c;
    char *errmsg = NULL;

    if (controller_open(&c, &loop, dir, NULL, on_ready, &w, &errmsg) != 0) {
        tap_diag("controller_open: %s", errmsg);
        vane_free(errmsg);
        return NULL;
    }
    return harness_loop_until(&loop, &w.done, harness_ms(10000)) && w.status == 0 ? c : NULL;
}

static void on_closed(void *arg)
{
    *(bool *)arg = true;
}

static void close_controller(struct controller *c)
{
    bool closed = false;

    controller_close(c, on_closed, &closed);
    harness_loop_until(&loop, &closed, harness_ms(10000));
}

static void on_bus_done(void *arg, int status, const struct eventbus_meta *bus)
{
    struct waitfor *w = arg;

    (void)bus;
    w->done = true;
    w->status = status;
}

static void on_sub_done(void *arg, int status, const struct subscription_meta *sub)
{
    struct waitfor *w = arg;

    w->done = true;
    w->status = status;
    w->id = sub ? sub->id : 0;
}

/* Runs until a proposal made with rc is applied; returns its status. */
static int settle(int rc, struct waitfor *w)
{
    if (rc != 0)
        return rc;
    return harness_loop_until(&loop, &w->done, harness_ms(10000)) ? w->status : -ETIMEDOUT;
}

static int create_bus(struct controller *c, const char *name, uint32_t logs)
{
    struct eventbus_meta spec = {.name = (char *)name, .eventlog_count = logs};
    struct waitfor w = {0};
    char *errmsg = NULL;
    int rc = controller_create_eventbus(c, &spec, on_bus_done, &w, &errmsg);

    vane_free(errmsg);
    return settle(rc, &w);
}

static int create_sub(struct controller *c, const char *name, const char *bus, uint32_t count,
                      uint64_t *id, char **errmsg)
{
    struct subscription_meta spec = {.name = (char *)name, .eventbus = (char *)bus,
                                     .offset_count = count};
    struct waitfor w = {0};
    int rc;

    spec.spec = json_pack("{s:s, s:[]}", "sink", "http://127.0.0.1:9/", "filters");
    for (uint32_t i = 0; i < count; i++)
        spec.offsets[i] = 10 * (i + 1);
    rc = settle(controller_create_subscription(c, &spec, on_sub_done, &w, errmsg), &w);
    json_decref(spec.spec);
    *id = w.id;
    return rc;
}

static int commit(struct controller *c, uint64_t id, uint64_t a, uint64_t b, bool reset)
{
    uint64_t offsets[2] = {a, b};
    struct waitfor w = {0};

    return settle(controller_commit_offsets(c, id, offsets, 2, reset, on_sub_done, &w), &w);
}

static void test_refusals(struct controller *c)
{
    char *errmsg = NULL;
    uint64_t id;

    is_int(create_sub(c, "bad name!", "orders", 2, &id, &errmsg), -EINVAL, "a bad name: -EINVAL");
    ok(errmsg && strncmp(errmsg, "name:", 5) == 0, "... naming the field (%s)", errmsg);
    vane_free(errmsg);
    errmsg = NULL;
    is_int(create_sub(c, "s", "nowhere", 2, &id, &errmsg), -ENOENT, "an unknown eventbus: -ENOENT");
    vane_free(errmsg);
    errmsg = NULL;
    is_int(create_sub(c, "s", "orders", 3, &id, &errmsg), -EINVAL,
           "offsets for 3 eventlogs of an eventbus of 2: -EINVAL");
    vane_free(errmsg);
}

static void test_changes(struct controller *c, uint64_t id)
{
    const struct subscription_meta *sub;
    struct waitfor w = {0};
    json_t *spec = json_pack("{s:s}", "sink", "http://127.0.0.1:10/");
    char *errmsg = NULL;

    is_int(commit(c, id, 15, 25, false), 0, "offsets are committed");
    is_int(commit(c, id, 12, 30, false), 0, "a late commit is applied too");
    sub = controller_find_subscription(c, id);
    ok(sub && sub->offsets[0] == 15 && sub->offsets[1] == 30,
       "offsets only move forward without reset (15 30)");
    is_int(settle(controller_update_subscription(c, id, "renamed", spec, on_sub_done, &w,
                                                 &errmsg), &w), 0, "an update is applied");
    sub = controller_find_subscription_named(c, "renamed");
    ok(sub && sub->id == id, "the new name finds it");
    ok(sub && sub->offsets[0] == 15 && sub->offsets[1] == 30, "an update keeps the offsets");
    ok(sub && strcmp(json_string_value(json_object_get(sub->spec, "sink")),
                     "http://127.0.0.1:10/") == 0, "the spec is replaced");
    memset(&w, 0, sizeof(w));
    is_int(settle(controller_set_subscription_disabled(c, id, true, on_sub_done, &w), &w), 0,
           "disable is applied");
    ok(controller_find_subscription(c, id)->disabled, "it is disabled");
    is_int(commit(c, id, 3, 4, true), 0, "a reset is applied");
    sub = controller_find_subscription(c, id);
    ok(sub && sub->offsets[0] == 3 && sub->offsets[1] == 4, "a reset moves offsets back");
    /* Enough commands for raft to snapshot (every 64): the restart below
     * then restores subscriptions from a snapshot, not only from the log. */
    for (uint64_t i = 0; i < 70; i++)
        if (commit(c, id, 5 + i, 6 + i, false) != 0)
            break;
    sub = controller_find_subscription(c, id);
    ok(sub && sub->offsets[0] == 74 && sub->offsets[1] == 75, "70 more commits (74 75)");
    json_decref(spec);
    vane_free(errmsg);
}

int main(void)
{
    char *dir = harness_tempdir(), *errmsg = NULL;
    struct controller *c;
    const struct subscription_meta *sub;
    size_t count = 0;
    uint64_t id = 0, other = 0;

    uv_loop_init(&loop);
    if (!ok((c = open_controller(dir)) != NULL, "a controller opens"))
        return tap_done();
    is_int(create_bus(c, "orders", 2), 0, "an eventbus with 2 eventlogs");
    is_int(create_bus(c, "other", 2), 0, "another eventbus");
    is_int(create_sub(c, "s1", "orders", 2, &id, &errmsg), 0, "a subscription is created");
    is_int(create_sub(c, "s2", "other", 2, &other, &errmsg), 0, "one on the other eventbus");
    is_int(create_sub(c, "s1", "orders", 2, &(uint64_t){0}, &errmsg), -EEXIST,
           "a taken name: -EEXIST");
    vane_free(errmsg);
    sub = controller_find_subscription(c, id);
    ok(sub && sub->offsets[0] == 10 && sub->offsets[1] == 20, "its starting offsets are kept");
    test_refusals(c);
    test_changes(c, id);
    close_controller(c);

    if (!ok((c = open_controller(dir)) != NULL, "the controller opens again"))
        return tap_done();
    sub = controller_find_subscription(c, id);
    ok(sub && strcmp(sub->name, "renamed") == 0 && sub->disabled && sub->offsets[0] == 74 &&
           sub->offsets[1] == 75, "after a restart: name, state and offsets as they were");
    controller_subscriptions(c, &count);
    is_int((long)count, 2, "both subscriptions are back");
    {
        struct waitfor w = {0};

        is_int(settle(controller_delete_eventbus(c, "orders", on_bus_done, &w), &w), 0,
               "the eventbus is deleted");
    }
    ok(controller_find_subscription(c, id) == NULL, "its subscription goes with it");
    ok(controller_find_subscription(c, other) != NULL, "the other eventbus's stays");
    {
        struct waitfor w = {0};

        is_int(settle(controller_delete_subscription(c, other, on_sub_done, &w), &w), 0,
               "a subscription is deleted");
    }
    controller_subscriptions(c, &count);
    is_int((long)count, 0, "none left");
    close_controller(c);
    is_int(harness_loop_close(&loop), 0, "every handle is closed");
    harness_rmtree(dir);
    return tap_done();
}

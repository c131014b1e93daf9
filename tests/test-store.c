/*
 * test-store.c -- the store as the daemon uses it: eventbuses created
 * through the controller's raft group open their eventlogs, survive a
 * restart with their metadata, are found by event id, and when deleted
 * close and remove their files; bad specs are refused with the field named.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "core/alloc.h"
#include "harness.h"
#include "store/store.h"
#include "tap.h"

static uv_loop_t loop;
static char *tmpdir;

struct waitfor {
    bool done;
    int status;
};

static void on_store_ready(struct store *store, int status, void *arg)
{
    struct waitfor *w = arg;

    (void)store;
    w->done = true;
    w->status = status;
}

static struct store *open_store(void)
{
    struct store_options opt;
    struct waitfor w = {false, 0};
    struct store *store;
    char *errmsg = NULL;

    store_options_default(&opt);
    if (store_open(&store, &loop, tmpdir, &opt, on_store_ready, &w, &errmsg) != 0) {
        tap_diag("store_open: %s", errmsg);
        vane_free(errmsg);
        return NULL;
    }
    return harness_loop_until(&loop, &w.done, 10000) && w.status == 0 ? store : NULL;
}

static void on_closed(void *arg)
{
    *(bool *)arg = true;
}

static void close_store(struct store *store)
{
    bool closed = false;

    store_close(store, on_closed, &closed);
    harness_loop_until(&loop, &closed, 10000);
}

static void on_done(void *arg, int status, const struct eventbus_meta *bus)
{
    struct waitfor *w = arg;

    (void)bus;
    w->done = true;
    w->status = status;
}

static int create_bus(struct store *store, const char *name, uint32_t logs, char **errmsg)
{
    struct eventbus_meta spec = {.name = (char *)name, .eventlog_count = logs,
                                 .description = "test", .retention_max_age_s = 3600};
    struct waitfor w = {false, 0};
    int err = store_create_eventbus(store, &spec, on_done, &w, errmsg);

    if (err != 0)
        return err;
    harness_loop_until(&loop, &w.done, 10000);
    return w.done ? w.status : -ETIMEDOUT;
}

static void on_append(void *arg, int status, uint64_t first)
{
    struct waitfor *w = arg;

    (void)first;
    w->done = true;
    w->status = status;
}

static int append_id(struct eventlog *log, const char *id)
{
    struct event e = EVENT_INIT;
    struct waitfor w = {false, 0};
    int err;

    event_add_string(&e, "specversion", EVENT_STRING, "1.0");
    event_add_string(&e, "id", EVENT_STRING, id);
    event_add_string(&e, "source", EVENT_URI_REF, "/store");
    event_add_string(&e, "type", EVENT_STRING, "test");
    err = eventlog_append(log, &e, 1, on_append, &w);
    event_free(&e);
    if (err == 0)
        harness_loop_until(&loop, &w.done, 10000);
    return err != 0 ? err : w.status;
}

static bool dir_exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int main(void)
{
    struct store *store;
    const struct store_bus *bus;
    char *errmsg = NULL, *log_path = NULL;
    uint32_t index = 99;
    uint64_t offset = 99;
    struct waitfor w = {false, 0};

    uv_loop_init(&loop);
    tmpdir = harness_tempdir();
    store = open_store();
    if (!ok(store != NULL, "an empty store opens"))
        return tap_done();
    is_int(create_bus(store, "orders", 3, &errmsg), 0, "an eventbus with 3 eventlogs is created");
    bus = store_bus(store, "orders");
    ok(bus != NULL && bus->logs[0] && bus->logs[1] && bus->logs[2], "its eventlogs are open");
    if (bus != NULL) {
        is_int(append_id(bus->logs[1], "first"), 0, "an event is appended to eventlog 1");
        is_int(append_id(bus->logs[1], "second"), 0, "and another");
        log_path = vane_asprintf("%s/eventlogs/%llu", tmpdir,
                                 (unsigned long long)bus->meta->eventlog_ids[1]);
    }
    is_int(create_bus(store, "orders", 1, &errmsg), -EEXIST, "a second 'orders' is refused");
    contains(errmsg, "already exists", "saying it exists");
    vane_free(errmsg), errmsg = NULL;
    is_int(create_bus(store, "bad name!", 1, &errmsg), -EINVAL, "a bad name is refused");
    contains(errmsg, "name: expected", "naming the field");
    vane_free(errmsg), errmsg = NULL;
    is_int(create_bus(store, "many", 65, &errmsg), -EINVAL, "65 eventlogs are refused");
    contains(errmsg, "eventlog_count: expected 1 to 64; got 65", "naming the field and range");
    vane_free(errmsg), errmsg = NULL;
    {
        struct eventbus_meta change = {.name = "orders", .description = "updated",
                                       .retention_max_age_s = 60, .retention_max_bytes = 1 << 20};

        is_int(controller_update_eventbus(store_controller(store), &change, on_done, &w, &errmsg),
               0, "the eventbus's retention and description are updated");
        harness_loop_until(&loop, &w.done, 10000);
        is_int(w.status, 0, "the update is applied");
        w.done = false;
        change.name = "nosuch";
        is_int(controller_update_eventbus(store_controller(store), &change, on_done, &w, &errmsg),
               -ENOENT, "updating an unknown eventbus is refused");
        contains(errmsg, "no eventbus named 'nosuch'", "naming it");
        vane_free(errmsg), errmsg = NULL;
    }
    close_store(store);

    store = open_store();
    if (!ok(store != NULL, "the store reopens"))
        return tap_done();
    bus = store_bus(store, "orders");
    ok(bus != NULL && bus->meta->eventlog_count == 3, "the eventbus and its 3 eventlogs are back");
    if (bus != NULL) {
        is_str(bus->meta->description, "updated", "with its updated description");
        is_int(bus->meta->retention_max_age_s, 60, "and its updated retention by age");
        is_int(bus->meta->retention_max_bytes, 1 << 20, "and by size");
    }
    is_int(store_find_id(store, "orders", "second", 1000, &index, &offset), 0, "an event is found by id");
    is_int(index, 1, "in eventlog 1");
    is_int(offset, 1, "at offset 1");
    is_int(store_find_id(store, "orders", "third", 1000, &index, &offset), -ENOENT, "an unknown id is not");
    ok(dir_exists(log_path), "the eventlog has its directory");
    is_int(controller_delete_eventbus(store_controller(store), "orders", on_done, &w), 0,
           "the eventbus is deleted");
    harness_loop_until(&loop, &w.done, 10000);
    ok(store_bus(store, "orders") == NULL, "it is gone");
    for (int i = 0; i < 200 && dir_exists(log_path); i++)
        uv_run(&loop, UV_RUN_NOWAIT), uv_sleep(5);
    ok(!dir_exists(log_path), "and so are its files");
    close_store(store);
    store = open_store();
    ok(store != NULL && store_bus(store, "orders") == NULL, "it stays deleted after a restart");
    if (store != NULL)
        close_store(store);
    is_int(harness_loop_close(&loop), 0, "every handle was closed");
    vane_free(log_path);
    harness_rmtree(tmpdir);
    return tap_done();
}

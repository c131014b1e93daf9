/*
 * store.c -- the controller and the eventlogs of every eventbus (see
 * store.h).
 */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/log.h"
#include "cluster/cluster.h"
#include "store/store.h"

static const char component[] = "store";

struct bus_entry {
    struct store_bus pub;
    struct store *store;
    char *name;
    uint32_t count;
    uint64_t ids[CONTROLLER_MAX_EVENTLOGS];
    int opening, closing, failed;
    controller_done_cb done; /* a create waiting for the eventlogs */
    void *done_arg;
    struct bus_entry *next;
};

struct store {
    uv_loop_t *loop;
    char *data_dir;
    struct store_options opt;
    struct controller *controller;
    struct bus_entry *buses;
    uv_timer_t retention;
    store_ready_cb ready;
    void *ready_arg;
    bool ready_done, controller_ready, closing;
    int opening;      /* eventlogs opening before the store is ready */
    int parts_open;   /* controller, timer, eventlogs and removals still running */
    store_close_cb close_cb;
    void *close_arg;
};

void store_options_default(struct store_options *options)
{
    eventlog_options_default(&options->eventlog);
    options->retention_interval_ms = 10000;
    options->cluster = NULL;
}

struct controller *store_controller(struct store *store)
{
    return store->controller;
}

static char *log_dir(const struct store *store, uint64_t id)
{
    return vane_asprintf("%s/eventlogs/%" PRIu64, store->data_dir, id);
}

static void maybe_closed(struct store *store);

static void part_done(struct store *store)
{
    store->parts_open--;
    if (store->closing)
        maybe_closed(store);
}

/* ---- removing files in the thread pool ---------------------------------- */

struct removal {
    uv_work_t req;
    struct store *store;
    char *path;
};

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void removal_work(uv_work_t *req)
{
    struct removal *r = (struct removal *)req;

    nftw(r->path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void removal_done(uv_work_t *req, int status)
{
    struct removal *r = (struct removal *)req;

    (void)status;
    vane_log_info(component, "removed %s", r->path);
    vane_free(r->path);
    part_done(r->store);
    vane_free(r);
}

static void remove_tree(struct store *store, char *path)
{
    struct removal *r = VANE_NEW(r);

    r->store = store;
    r->path = path;
    store->parts_open++;
    uv_queue_work(store->loop, &r->req, removal_work, removal_done);
}

/* ---- eventbuses ---------------------------------------------------------- */

static void maybe_ready(struct store *store)
{
    if (store->ready_done || !store->controller_ready || store->opening > 0)
        return;
    store->ready_done = true;
    store->ready(store, 0, store->ready_arg);
}

static void entry_opened(struct bus_entry *e)
{
    controller_done_cb done = e->done;

    e->done = NULL;
    if (done != NULL)
        done(e->done_arg, e->failed, e->failed == 0 ? e->pub.meta : NULL);
}

static void on_log_ready(struct eventlog *log, int status, void *arg)
{
    struct bus_entry *e = arg;
    struct store *store = e->store;

    if (status != 0) {
        vane_log_error(component, "eventbus %s: an eventlog failed to start: %s", e->name,
                       vane_strerror(status));
        e->failed = status;
    }
    (void)log;
    if (--e->opening == 0)
        entry_opened(e);
    if (!store->ready_done) {
        store->opening--;
        maybe_ready(store);
    }
}

/* In a cluster, eventlog i's group: its voters as placed, every other node a standby. */
static void group_of(const struct store *store, const struct eventbus_meta *meta, uint32_t i,
                     struct cluster_group *group)
{
    cluster_group(store->opt.cluster, meta->eventlog_ids[i],
                  meta->replica_count > 0 ? meta->replicas[i] : NULL, meta->replica_count, group);
    group->rc.preferred_leader = meta->replicas[i][0];
}

/*
 * The members each eventlog's group should have, as the metadata now says
 * (raft/replica_members.c moves its configuration there), once the metadata
 * has recorded the cluster's nodes.
 */
static void set_members(struct store *store, struct bus_entry *e)
{
    if (store->opt.cluster == NULL || !controller_has_nodes(store->controller) ||
        e->pub.meta == NULL)
        return;
    for (uint32_t i = 0; i < e->count; i++) {
        struct cluster_group group;

        if (e->pub.logs[i] == NULL)
            continue;
        group_of(store, e->pub.meta, i, &group);
        replica_set_members(eventlog_replica(e->pub.logs[i]), &group.rc);
    }
}

static void open_logs(struct store *store, struct bus_entry *e)
{
    for (uint32_t i = 0; i < e->count; i++) {
        struct eventlog_options options = store->opt.eventlog;
        struct cluster_group group;
        char *dir, *errmsg = NULL;
        int err;

        if (store->opt.cluster != NULL) {
            group_of(store, e->pub.meta, i, &group);
            options.cluster = &group.rc;
            options.join = controller_joined(store->controller, store->opt.cluster->members.self,
                                             e->pub.meta);
        }
        dir = log_dir(store, e->ids[i]);
        err = eventlog_open(&e->pub.logs[i], store->loop, dir, &options, on_log_ready, e, &errmsg);

        if (err != 0) {
            vane_log_error(component, "eventbus %s: %s", e->name, errmsg);
            vane_free(errmsg);
            e->failed = err;
            e->pub.logs[i] = NULL;
        } else {
            e->opening++;
            store->parts_open++;
            if (!store->ready_done)
                store->opening++;
        }
        vane_free(dir);
    }
    if (e->opening == 0)
        entry_opened(e);
    set_members(store, e);
}

static struct bus_entry *add_entry(struct store *store, const struct eventbus_meta *meta)
{
    struct bus_entry *e = VANE_NEW(e);

    e->store = store;
    e->pub.meta = meta;
    e->name = vane_strdup(meta->name);
    e->count = meta->eventlog_count;
    memcpy(e->ids, meta->eventlog_ids, sizeof(e->ids));
    e->next = store->buses;
    store->buses = e;
    open_logs(store, e);
    return e;
}

static struct bus_entry *find_entry(const struct store *store, const char *name)
{
    for (struct bus_entry *e = store->buses; e != NULL; e = e->next)
        if (strcmp(e->name, name) == 0)
            return e;
    return NULL;
}

const struct store_bus *store_bus(const struct store *store, const char *name)
{
    struct bus_entry *e = find_entry(store, name);

    return e != NULL && e->opening == 0 && e->failed == 0 ? &e->pub : NULL;
}

static void free_entry(struct bus_entry *e)
{
    vane_free(e->name);
    vane_free(e);
}

/* An eventlog of a closing entry has closed; the last one frees the entry. */
static void on_log_closed(struct eventlog *log, void *arg)
{
    struct bus_entry *e = arg;
    struct store *store = e->store;

    (void)log;
    if (--e->closing == 0) {
        if (!store->closing)
            for (uint32_t i = 0; i < e->count; i++)
                remove_tree(store, log_dir(store, e->ids[i]));
        free_entry(e);
    }
    part_done(store); /* last: it may free the store */
}

static void close_entry(struct store *store, struct bus_entry *e)
{
    for (struct bus_entry **p = &store->buses; *p != NULL; p = &(*p)->next)
        if (*p == e) {
            *p = e->next;
            break;
        }
    e->pub.meta = NULL;
    if (e->done != NULL) {
        e->failed = VANE_ESHUTDOWN;
        entry_opened(e);
    }
    for (uint32_t i = 0; i < e->count; i++)
        e->closing += e->pub.logs[i] != NULL;
    if (e->closing == 0) {
        free_entry(e);
        return;
    }
    for (uint32_t i = 0; i < e->count; i++)
        if (e->pub.logs[i] != NULL)
            eventlog_close(e->pub.logs[i], on_log_closed, e);
}

/*
 * A snapshot replaced the metadata (this node had fallen behind): each
 * entry takes its eventbus's new record, those gone close, new ones open.
 */
static void follow_restore(struct store *store, struct controller *c)
{
    const struct eventbus_meta *const *buses;
    struct bus_entry *e, *next;
    size_t count;

    for (e = store->buses; e != NULL; e = next) {
        next = e->next;
        if ((e->pub.meta = controller_find(c, e->name)) == NULL ||
            e->pub.meta->eventlog_ids[0] != e->ids[0])
            close_entry(store, e); /* deleted, or deleted and made again */
    }
    buses = controller_list(c, &count);
    for (size_t i = 0; i < count; i++)
        if (find_entry(store, buses[i]->name) == NULL)
            add_entry(store, buses[i]);
}

static void on_change(struct controller *c, enum controller_change change,
                      const struct eventbus_meta *bus, void *arg)
{
    struct store *store = arg;
    struct bus_entry *e = bus != NULL ? find_entry(store, bus->name) : NULL;

    if (change == CONTROLLER_CREATED && e == NULL)
        add_entry(store, bus);
    else if (change == CONTROLLER_DELETED && e != NULL)
        close_entry(store, e);
    else if (change == CONTROLLER_UPDATED && e != NULL)
        set_members(store, e);
    else if (change == CONTROLLER_RESTORED)
        follow_restore(store, c);
    if (change == CONTROLLER_MEMBERS || change == CONTROLLER_RESTORED)
        for (e = store->buses; e != NULL; e = e->next)
            set_members(store, e);
}

struct create_req {
    struct store *store;
    controller_done_cb done;
    void *arg;
};

/* The controller applied the create: the entry exists and its eventlogs are opening. */
static void on_created(void *arg, int status, const struct eventbus_meta *bus)
{
    struct create_req *req = arg;
    struct bus_entry *e = status == 0 ? find_entry(req->store, bus->name) : NULL;

    if (status == 0 && e == NULL)
        status = VANE_ESHUTDOWN; /* applied, but the store is closing */
    if (e != NULL && e->opening > 0) {
        e->done = req->done;
        e->done_arg = req->arg;
    } else if (req->done != NULL) {
        if (status == 0)
            status = e->failed;
        req->done(req->arg, status, status == 0 ? bus : NULL);
    }
    vane_free(req);
}

int store_create_eventbus(struct store *store, const struct eventbus_meta *spec,
                          controller_done_cb done, void *arg, char **errmsg)
{
    struct create_req *req = VANE_NEW(req);
    int err;

    req->store = store;
    req->done = done;
    req->arg = arg;
    if ((err = controller_create_eventbus(store->controller, spec, on_created, req, errmsg)) != 0)
        vane_free(req);
    return err;
}

/* ---- lookups ------------------------------------------------------------- */

static int scan_for_id(struct eventlog *log, const char *id, uint64_t max_scan, uint64_t *found)
{
    struct eventlog_batch batch = EVENTLOG_BATCH_INIT;
    struct eventlog_stats st;
    struct event e = EVENT_INIT;
    size_t idlen = strlen(id);
    uint64_t offset;
    int rc = -ENOENT, err;

    eventlog_stats(log, &st);
    offset = st.next_offset - st.first_offset > max_scan ? st.next_offset - max_scan : st.first_offset;
    while ((err = eventlog_read(log, offset, 1024, 1u << 20, &batch)) == 0 && batch.count > 0) {
        for (size_t i = 0; i < batch.count; i++) {
            const struct event_attr *attr;

            record_to_event(&batch.records[i], &e);
            attr = event_get(&e, "id");
            if (attr != NULL && attr->value.type == EVENT_STRING && attr->value.u.bytes.len == idlen &&
                memcmp(attr->value.u.bytes.ptr, id, idlen) == 0) {
                *found = batch.records[i].offset; /* keep going: the newest wins */
                rc = 0;
            }
        }
        offset = batch.next_offset;
    }
    event_free(&e);
    eventlog_batch_free(&batch);
    return err != 0 && rc != 0 ? err : rc;
}

int store_find_id(struct store *store, const char *bus, const char *id, uint64_t max_scan,
                  uint32_t *log_index, uint64_t *offset)
{
    const struct store_bus *b = store_bus(store, bus);
    int rc = -ENOENT;

    if (b == NULL)
        return -ENOENT;
    for (uint32_t i = 0; i < b->meta->eventlog_count && rc != 0; i++) {
        rc = scan_for_id(b->logs[i], id, max_scan, offset);
        if (rc == 0)
            *log_index = i;
    }
    return rc;
}

/* ---- retention ----------------------------------------------------------- */

static void on_retention(uv_timer_t *timer)
{
    struct store *store = timer->data;
    struct timespec ts;
    int64_t now;

    clock_gettime(CLOCK_REALTIME, &ts);
    now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    for (struct bus_entry *e = store->buses; e != NULL; e = e->next) {
        const struct eventbus_meta *m = e->pub.meta;

        if (e->opening > 0 || m == NULL)
            continue;
        for (uint32_t i = 0; i < e->count; i++)
            if (e->pub.logs[i] != NULL)
                eventlog_retain(e->pub.logs[i], now, m->retention_max_age_s * 1000000000,
                                m->retention_max_bytes);
    }
}

/* ---- start and stop ------------------------------------------------------ */

/* Removes eventlog directories that no eventbus names any more. */
static void remove_orphans(struct store *store)
{
    char *root = vane_asprintf("%s/eventlogs", store->data_dir);
    DIR *d = opendir(root);
    struct dirent *ent;

    while (d != NULL && (ent = readdir(d)) != NULL) {
        char *end;
        uint64_t id = strtoull(ent->d_name, &end, 10);
        bool named = false;

        if (ent->d_name[0] == '.' || *end != '\0')
            continue;
        for (struct bus_entry *e = store->buses; e != NULL && !named; e = e->next)
            for (uint32_t i = 0; i < e->count && !named; i++)
                named = e->ids[i] == id;
        if (!named) {
            vane_log_warn(component, "removing eventlog %" PRIu64 " of a deleted eventbus", id);
            remove_tree(store, vane_asprintf("%s/%s", root, ent->d_name));
        }
    }
    if (d != NULL)
        closedir(d);
    vane_free(root);
}

static void on_controller_ready(struct controller *c, int status, void *arg)
{
    struct store *store = arg;
    const struct eventbus_meta *const *buses;
    size_t count;

    if (status != 0) {
        vane_log_error(component, "the metadata group failed to start: %s", vane_strerror(status));
        store->ready(store, status, store->ready_arg);
        return;
    }
    buses = controller_list(c, &count);
    for (size_t i = 0; i < count; i++)
        add_entry(store, buses[i]);
    remove_orphans(store);
    controller_set_listener(c, on_change, store);
    store->controller_ready = true;
    maybe_ready(store);
}

int store_open(struct store **out, uv_loop_t *loop, const char *data_dir,
               const struct store_options *options, store_ready_cb ready, void *arg,
               char **errmsg)
{
    struct store *store = VANE_NEW(store);
    char *dir = vane_asprintf("%s/controller", data_dir);
    int err;

    store->loop = loop;
    store->data_dir = vane_strdup(data_dir);
    store->opt = *options;
    store->ready = ready;
    store->ready_arg = arg;
    err = controller_open(&store->controller, loop, dir, options->cluster, on_controller_ready,
                          store, errmsg);
    vane_free(dir);
    if (err != 0) {
        vane_free(store->data_dir);
        vane_free(store);
        return err;
    }
    store->parts_open = 2; /* the controller and the retention timer */
    uv_timer_init(loop, &store->retention);
    store->retention.data = store;
    uv_timer_start(&store->retention, on_retention, options->retention_interval_ms,
                   options->retention_interval_ms);
    *out = store;
    return 0;
}

static void maybe_closed(struct store *store)
{
    if (store->parts_open > 0)
        return;
    if (store->close_cb != NULL)
        store->close_cb(store->close_arg);
    vane_free(store->data_dir);
    vane_free(store);
}

static void on_controller_closed(void *arg)
{
    part_done(arg);
}

static void on_timer_closed(uv_handle_t *handle)
{
    part_done(handle->data);
}

void store_close(struct store *store, store_close_cb cb, void *arg)
{
    store->closing = true;
    store->close_cb = cb;
    store->close_arg = arg;
    uv_close((uv_handle_t *)&store->retention, on_timer_closed);
    while (store->buses != NULL)
        close_entry(store, store->buses);
    controller_close(store->controller, on_controller_closed, store);
}

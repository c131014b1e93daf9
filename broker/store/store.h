/*
 * store.h -- all the broker keeps: the controller's metadata and, for each
 * eventbus, its eventlogs.
 *
 * Layout under the data directory:
 *
 *     controller/            the metadata raft group
 *     eventlogs/<id>/        one eventlog: segments, and raft/ for its group
 *
 * The store follows the controller: an eventbus created opens its
 * eventlogs (the create is answered once they are ready), one deleted
 * closes them and removes their files in the thread pool.  At start it opens
 * every eventlog the metadata names, removes directories it does not name
 * (left by a delete a crash interrupted), and is ready once all are.  A
 * timer applies each eventbus's retention.
 */
#ifndef VANE_STORE_H
#define VANE_STORE_H

#include <stdint.h>

#include <uv.h>

#include "controller/controller.h"
#include "store/eventlog.h"

struct store_options {
    struct eventlog_options eventlog;
    uint64_t retention_interval_ms; /* how often retention runs (default 10 s) */
    struct cluster *cluster;        /* this node's part in a cluster; NULL: a single node */
};

void store_options_default(struct store_options *options);

struct store;

/* An eventbus as the store holds it. */
struct store_bus {
    const struct eventbus_meta *meta;
    struct eventlog *logs[CONTROLLER_MAX_EVENTLOGS];
};

typedef void (*store_ready_cb)(struct store *store, int status, void *arg);
typedef void (*store_close_cb)(void *arg);

int store_open(struct store **store, uv_loop_t *loop, const char *data_dir,
               const struct store_options *options, store_ready_cb ready, void *arg,
               char **errmsg);

struct controller *store_controller(struct store *store);

/* The eventbus called name, with its eventlogs open, or NULL. */
const struct store_bus *store_bus(const struct store *store, const char *name);

/* As controller_create_eventbus(), but done runs once the eventlogs are ready. */
int store_create_eventbus(struct store *store, const struct eventbus_meta *spec,
                          controller_done_cb done, void *arg, char **errmsg);

/*
 * Finds an event by id in an eventbus by scanning, newest first, at most
 * max_scan events of each eventlog.  Returns 0 with *log_index and *offset,
 * -ENOENT when not found within the bound, or another negative error.
 */
int store_find_id(struct store *store, const char *bus, const char *id, uint64_t max_scan,
                  uint32_t *log_index, uint64_t *offset);

void store_close(struct store *store, store_close_cb cb, void *arg);

#endif

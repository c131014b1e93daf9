/*
 * connector-host.h -- runs one source or sink connector plugin inside a
 * test program, on the test's own libuv loop: a development aid for the
 * shipped connectors (tests/test-connector-plugins.c) that checks their
 * own logic without the connector engine in between.
 *
 * The plugin is loaded and checked by the broker's loader (plugin/plugin.h)
 * and started with its options checked by plugin_options (as the engine's
 * worker does).  The host table is the broker's in-process one
 * (plugin_host.h) for logging, options and events, with the members a
 * worker provides replaced here: timers and the thread pool are the loop's;
 * emit records the event as structured JSON and calls back on the next turn
 * of the loop with emit_status (0: durable, at offsets counting from 0);
 * ack and http_reply record what they were given; http_events says no
 * request is a CloudEvent (the engine's real one is tested through vaned,
 * tests/test-connectors.c).
 */
#ifndef VANE_TESTS_CONNECTOR_HOST_H
#define VANE_TESTS_CONNECTOR_HOST_H

#include <stdbool.h>
#include <stddef.h>

#include <uv.h>

#include "vane/plugin.h"

struct plugin;

struct chost {
    uv_loop_t loop;
    struct vane_host host;
    struct plugin *plugin;
    struct vane_instance *inst;
    bool started;        /* a source's start was called */

    int emit_status;     /* what the next emits' callbacks say (0: durable) */
    char **emitted;      /* each emitted event as structured JSON, in order */
    size_t emit_count;
    size_t emit_settled; /* callbacks called */

    /* the last HTTP answer */
    bool replied;
    int reply_status;
    char *reply_headers; /* the header lines, each ending "\n" */
    char *reply_body;
};

/* One delivery to a sink, until its ack. */
struct chost_delivery {
    bool acked;
    int status;
    char *message; /* the ack's, or NULL */
};

/*
 * Loads the plugin file (a .la or .so) and starts an instance called name
 * with options (JSON text, NULL: none), and calls a source's start.
 * Returns 0, or -1 with *why (freed by the caller with free()) saying why.
 */
int chost_start(struct chost *h, const char *file, const char *name, const char *options,
                char **why);

/* Stops and frees the instance (stop, fini), closes the loop; returns uv_loop_close's result. */
int chost_stop(struct chost *h);

/* Hands the sink the event (structured JSON); the ack lands in d. Returns 0 or -1 (bad JSON). */
int chost_deliver(struct chost *h, const char *event_json, struct chost_delivery *d);
void chost_delivery_free(struct chost_delivery *d);

/* Sends the source an HTTP request; its answer lands in h->reply_*. */
void chost_http(struct chost *h, const char *method, const char *path,
                const char *const *headers, const char *body);

/* Runs the loop until *flag or timeout_ms (scaled); returns *flag. */
bool chost_run_until(struct chost *h, const bool *flag, int timeout_ms);

/* Runs the loop until count events were emitted and settled, or timeout_ms; returns whether. */
bool chost_wait_emitted(struct chost *h, size_t count, int timeout_ms);

#endif

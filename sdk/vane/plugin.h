/*
 * vane/plugin.h -- the Vane plugin SDK: everything a source, sink, filter or
 * transform plugin needs, in one header, with nothing to link.
 *
 * A plugin is a shared object that exports one data symbol, "vane_plugin",
 * a const struct vane_plugin emitted by VANE_PLUGIN_DECLARE().  The broker
 * opens the file with libltdl, reads the descriptor and refuses it, with one
 * log line naming the file and the reason, when:
 *   - magic is not VANE_PLUGIN_MAGIC (not a Vane plugin, or a corrupt one);
 *   - abi_major differs from the broker's (the header it was built with is
 *     of another, incompatible generation);
 *   - struct_size is smaller than the ABI minor it claims requires;
 *   - the name is missing or not [a-z0-9_-]{1,63}, or another loaded plugin
 *     already has it;
 *   - the callbacks its kind needs are NULL;
 *   - its options table is malformed (an unknown type, a default of the
 *     wrong type, a duplicate name).
 *
 * Versioning (the habits of Mosquitto and SQLite): structs here only ever
 * grow at their end.  A new field or callback bumps VANE_ABI_MINOR and the
 * broker reads it only from plugins whose abi_minor says it is there; a
 * change that breaks old plugins bumps VANE_ABI_MAJOR.  sdk/CHANGELOG.md
 * records every bump.  The host table grows the same way: a plugin checks
 * host->abi_minor (or host->struct_size) before calling a newer member.
 *
 * Where plugins run.  Filters and transforms run inside the broker, on the
 * thread that delivers the subscription's events, one call at a time per
 * instance: they must be quick and must not block.  Sources and sinks run
 * as connectors, in worker processes the connector engine starts, so one
 * that crashes takes nothing else down; each instance has its own libuv
 * loop and every callback of an instance comes on that loop's thread.
 *
 * Ownership is written beside each prototype.  The general rule: what the
 * host passes in is borrowed for the duration of the call; what a plugin
 * passes to the host is copied by the host before the call returns, unless
 * the prototype says the host takes it.
 */
#ifndef VANE_PLUGIN_H
#define VANE_PLUGIN_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VANE_PLUGIN_MAGIC 0x56414e45u /* "VANE" */
#define VANE_ABI_MAJOR 1
#define VANE_ABI_MINOR 0

/* The symbol the broker looks up in every plugin file. */
#define VANE_PLUGIN_SYMBOL "vane_plugin"

/* ---- kinds and results ---------------------------------------------------- */

/* Values are part of the ABI: append only. */
enum vane_plugin_kind {
    VANE_PLUGIN_SOURCE = 1,    /* produces events: start/stop, http */
    VANE_PLUGIN_SINK = 2,      /* consumes a subscription's events: deliver */
    VANE_PLUGIN_FILTER = 3,    /* keeps or drops an event: filter */
    VANE_PLUGIN_TRANSFORM = 4, /* rewrites, drops or multiplies an event: transform */
};

/* What filter and transform return (negative: an error, see below). */
#define VANE_DROP 0
#define VANE_KEEP 1

/*
 * Errors are negative.  Plugins may return any -errno; these have a meaning
 * to the host: VANE_ERETRY asks it to try the same event again later (a
 * sink whose endpoint is down); VANE_EINVAL says the event itself is at
 * fault and retrying cannot help (it goes to the dead-letter eventbus).
 */
#define VANE_ERETRY (-11) /* -EAGAIN */
#define VANE_EINVAL (-22) /* -EINVAL */

/* ---- options: declared as data, validated by the host ---------------------- */

/* Values are part of the ABI: append only. */
enum vane_option_type {
    VANE_OPTION_STRING = 1,
    VANE_OPTION_INT = 2,      /* a JSON integer (or a string of one) */
    VANE_OPTION_BOOL = 3,     /* true/false */
    VANE_OPTION_DURATION = 4, /* "500ms", "10s", "2m", or an integer of seconds */
    VANE_OPTION_SIZE = 5,     /* "64KiB", "1MiB", or an integer of bytes */
    VANE_OPTION_LIST = 6,     /* a JSON array of strings (or one string) */
    VANE_OPTION_OBJECT = 7,   /* any JSON object, handed over as its JSON text */
};

#define VANE_OPTION_REQUIRED 0x1u /* the connector or subscription must set it */
#define VANE_OPTION_SECRET 0x2u   /* never shown by the API or the logs */

struct vane_option {
    const char *name;          /* [a-z0-9_]+ */
    int type;                  /* enum vane_option_type */
    const char *default_value; /* as JSON text ("10", "\"5s\"", "true"); NULL: none */
    unsigned flags;            /* VANE_OPTION_* */
    const char *doc;           /* one sentence for `vanectl plugin info` and the docs */
};

/* Ends a plugin's options table. */
#define VANE_OPTIONS_END {NULL, 0, NULL, 0, NULL}

/* ---- the event ------------------------------------------------------------ */

/* The CloudEvents type system; the same numbers as the store's record format. */
enum vane_value_type {
    VANE_BOOLEAN = 1,
    VANE_INTEGER = 2,
    VANE_STRING = 3,
    VANE_BINARY = 4,
    VANE_URI = 5,
    VANE_URI_REF = 6,
    VANE_TIMESTAMP = 7, /* RFC 3339 text */
};

/* An attribute value.  ptr/len hold every type but boolean and integer. */
struct vane_value {
    int type; /* enum vane_value_type */
    int boolean;
    int64_t integer;
    const char *ptr; /* not NUL-terminated */
    size_t len;
};

/* Opaque to plugins: an event, a running instance, a pending acknowledgement. */
struct vane_event;
struct vane_instance;
struct vane_delivery;   /* a sink's event awaiting vane_host.ack */
struct vane_http_reply; /* a source's HTTP request awaiting vane_host.http_reply */

/* An HTTP request routed to a source at /connectors/{name}[/rest]. */
struct vane_http_header {
    const char *name; /* lower case */
    size_t name_len;
    const char *value;
    size_t value_len;
};

struct vane_http_request {
    const char *method;
    const char *path; /* what follows /connectors/{name}, "" or "/..." */
    const char *query; /* after '?', "" when none */
    const struct vane_http_header *headers;
    size_t header_count;
    const char *body;
    size_t body_len;
    const char *remote_addr; /* "ip:port" */
};

/* Called once an emitted event is durable (status 0, offset set) or refused (negative). */
typedef void (*vane_emit_cb)(void *arg, int status, uint64_t eventlog, uint64_t offset);
typedef void (*vane_timer_cb)(void *arg);
typedef void (*vane_work_cb)(void *arg);

/* Levels of vane_host.log. */
enum vane_plugin_log_level {
    VANE_PLUGIN_LOG_ERROR = 0,
    VANE_PLUGIN_LOG_WARN = 1,
    VANE_PLUGIN_LOG_INFO = 2,
    VANE_PLUGIN_LOG_DEBUG = 3,
};

/*
 * The host services, passed to init.  Every function takes the instance it
 * was given at init.  Append only; the first three fields never move.
 */
struct vane_host {
    uint16_t abi_major, abi_minor;
    uint32_t struct_size;

    /* -- logging: one line at level (enum vane_plugin_log_level), prefixed
     *    with the plugin's and instance's names. */
    void (*log)(struct vane_instance *self, int level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

    /* -- options, already validated against the plugin's table.  Strings are
     *    owned by the instance and live until fini returns.  An option the
     *    user did not set reads as its default; one with neither reads as
     *    NULL / 0 / false and option_set() says so. */
    int (*option_set)(struct vane_instance *self, const char *name);
    const char *(*option_string)(struct vane_instance *self, const char *name); /* STRING, OBJECT */
    int64_t (*option_int)(struct vane_instance *self, const char *name); /* INT, SIZE, DURATION (ms) */
    int (*option_bool)(struct vane_instance *self, const char *name);
    size_t (*option_list_count)(struct vane_instance *self, const char *name);
    const char *(*option_list_at)(struct vane_instance *self, const char *name, size_t i);

    /* -- reading an event: no copies; pointers live as long as the event is
     *    unchanged (until the callback returns for events the host passed in). */
    int (*event_get)(const struct vane_event *ev, const char *name, struct vane_value *out); /* 1 found, 0 not */
    size_t (*event_attr_count)(const struct vane_event *ev);
    /* The i-th attribute, in the order they came; name is not NUL-terminated.
     * 1 with it, or 0 when i is past the last. */
    int (*event_attr_at)(const struct vane_event *ev, size_t i, const char **name, size_t *name_len,
                         struct vane_value *out);
    /* 1 and the bytes when the event has data (possibly empty), else 0. */
    int (*event_data)(const struct vane_event *ev, const char **ptr, size_t *len);

    /* -- changing an event (transform's event, or one from event_new).  The
     *    host copies name and value.  Returns 0, or VANE_EINVAL naming a bad
     *    attribute (not lower-case alphanumeric, a required one removed, a
     *    value of the wrong type for a known attribute). */
    int (*event_set)(struct vane_event *ev, const char *name, const struct vane_value *value);
    int (*event_remove)(struct vane_event *ev, const char *name); /* 0 also when absent */
    /* Sets data.  release NULL: the bytes are copied.  Otherwise the event
     * takes the buffer without copying and calls release(ptr) when done. */
    int (*event_set_data)(struct vane_event *ev, const char *ptr, size_t len,
                          void (*release)(void *ptr));
    void (*event_clear_data)(struct vane_event *ev);

    /* -- making events (sources; transforms fanning out).  event_new returns
     *    an empty event the plugin owns until it passes it to emit or
     *    event_free. */
    struct vane_event *(*event_new)(struct vane_instance *self);
    void (*event_free)(struct vane_event *ev);

    /*
     * Emit: a source's event to its eventbus, or a transform's extra output.
     * The host takes ev (do not touch or free it after).  Source: cb runs on
     * the instance's loop once the event is durable or refused (it may be
     * NULL).  Transform: emitted events follow the one transform returns,
     * in order; cb is called at once with status 0.
     * Returns 0, or a negative error (cb is then not called).
     */
    int (*emit)(struct vane_instance *self, struct vane_event *ev, vane_emit_cb cb, void *arg);

    /* Sink: settle one delivery.  status 0 delivered, VANE_ERETRY try again
     * later, any other negative: a dead letter (message says why; copied). */
    void (*ack)(struct vane_delivery *d, int status, const char *message);

    /* Source: answer an HTTP request (now or later, once).  The host copies
     * headers ("Name: value" lines, NULL-terminated array, may be NULL) and body. */
    void (*http_reply)(struct vane_http_reply *r, int status, const char *const *headers,
                       const char *body, size_t body_len);

    /* -- timers on the instance's loop; an id > 0, or negative.  A repeating
     *    timer runs every repeat_ms; 0 runs once. */
    int64_t (*timer_start)(struct vane_instance *self, uint64_t timeout_ms, uint64_t repeat_ms,
                           vane_timer_cb cb, void *arg);
    void (*timer_stop)(struct vane_instance *self, int64_t id);

    /* -- blocking work (a git fetch, a file read) on a thread pool; after
     *    runs on the instance's loop when work is done.  Returns 0 or negative. */
    int (*work)(struct vane_instance *self, vane_work_cb work, vane_work_cb after, void *arg);

    /* -- metrics: adds delta to the counter
     *    vane_plugin_<name>_total{plugin="...",instance="..."}. */
    void (*metric_add)(struct vane_instance *self, const char *name, uint64_t delta);

    /* The instance's name (the connector or subscription it serves). */
    const char *(*instance_name)(struct vane_instance *self);

    /*
     * Source: reads req as a CloudEvents HTTP message (binary, structured or
     * batch mode, as POST /gateway/{eventbus} does) and hands each event to
     * each(), which then owns it (pass it to emit or event_free), in order.
     * Returns the number of events, or VANE_EINVAL with the reason in
     * err (errlen bytes, NUL-terminated), when nothing is handed over: a
     * request is taken whole or not at all.  Returns 0 with no call for a
     * request that is not a CloudEvent (no ce-specversion header, no
     * CloudEvents content type), so the caller can make one of its own.
     */
    int (*http_events)(struct vane_instance *self, const struct vane_http_request *req,
                       void (*each)(void *arg, struct vane_event *ev), void *arg, char *err,
                       size_t errlen);
};

/* ---- the descriptor -------------------------------------------------------- */

struct vane_plugin {
    uint32_t magic;       /* VANE_PLUGIN_MAGIC */
    uint16_t abi_major;   /* VANE_ABI_MAJOR of the header built with */
    uint16_t abi_minor;   /* VANE_ABI_MINOR of the header built with */
    uint32_t struct_size; /* sizeof(struct vane_plugin) of the header built with */

    const char *name;        /* [a-z0-9_-]{1,63}, unique among loaded plugins */
    const char *version;     /* the plugin's own, free form ("1.2.0") */
    int kind;                /* enum vane_plugin_kind */
    const char *description; /* one line */
    const struct vane_option *options; /* ends with VANE_OPTIONS_END; NULL: none */

    /*
     * Starts an instance: host is valid for the life of the process, self
     * until fini returns.  Put the instance's state in *state.  Returns 0,
     * or a negative error after logging why (the instance is not started
     * and fini is not called).  Required for every kind.
     */
    int (*init)(const struct vane_host *host, struct vane_instance *self, void **state);
    /* Ends an instance; frees what init made.  May be NULL. */
    void (*fini)(void *state);

    /* FILTER (required): VANE_KEEP, VANE_DROP, or negative (the event is
     * dropped and the error logged and counted). */
    int (*filter)(void *state, const struct vane_event *ev);

    /*
     * TRANSFORM (required): may change ev in place through the host's
     * event_* functions and emit further events.  Returns VANE_KEEP (ev,
     * as changed, goes on), VANE_DROP (it does not; emitted events still
     * do), or negative (the original event is dead-lettered).
     */
    int (*transform)(void *state, struct vane_event *ev);

    /*
     * SINK (required): deliver ev; settle it with host->ack(d, ...) exactly
     * once, now or later on the instance's loop.  ev is valid until ack.
     * Returning non-zero is the same as ack(d, rc, NULL) now.
     */
    int (*deliver)(void *state, const struct vane_event *ev, struct vane_delivery *d);

    /* SOURCE: start producing (timers, threads) and stop; either may be NULL
     * for a source that only answers HTTP. */
    int (*start)(void *state);
    void (*stop)(void *state);

    /*
     * SOURCE: an HTTP request to /connectors/{name}.  Answer it with
     * host->http_reply(r, ...) exactly once, now or later (typically after
     * the emitted events' callbacks).  NULL: the source takes no requests.
     */
    void (*http)(void *state, const struct vane_http_request *req, struct vane_http_reply *r);

    void *reserved[8]; /* for minor versions to come; zero */
};

/*
 * Declares the plugin's descriptor.  Use once per plugin, at file scope:
 *
 *     VANE_PLUGIN_DECLARE(
 *         .name = "uppercase", .version = "1.0.0", .kind = VANE_PLUGIN_TRANSFORM,
 *         .description = "upper-cases the subject",
 *         .options = options, .init = init, .fini = fini, .transform = transform);
 */
#define VANE_PLUGIN_DECLARE(...)                                                              \
    __attribute__((visibility("default"))) extern const struct vane_plugin vane_plugin;      \
    __attribute__((visibility("default"))) const struct vane_plugin vane_plugin = {          \
        .magic = VANE_PLUGIN_MAGIC, .abi_major = VANE_ABI_MAJOR, .abi_minor = VANE_ABI_MINOR,  \
        .struct_size = sizeof(struct vane_plugin), __VA_ARGS__}

#ifdef __cplusplus
}
#endif

#endif

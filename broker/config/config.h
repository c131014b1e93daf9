/*
 * config.h -- the daemon's configuration.
 *
 * The configuration file is a Lua chunk that returns a table:
 *
 *     return {
 *       listen = "127.0.0.1:8080",
 *       data_dir = os.getenv("VANE_DATA") or "./var",
 *       log = { level = "info", format = "text" },
 *     }
 *
 * Every key is declared once in a schema (config.c) with its type, default
 * and documentation; loading walks the returned table against the schema and
 * stops at the first unknown key, wrong type or bad value with a message that
 * names the key.  Defaults and command-line overrides go through the same
 * per-key parser as the file, so a value is checked the same way wherever it
 * comes from.
 *
 * Loading happens once at start, on the main thread, before the loop runs.
 */
#ifndef VANE_CONFIG_H
#define VANE_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/log.h"

/*
 * Whether a part of the HTTP API asks for the admin token.  One enum for
 * both auth.* keys: their choice lists index it (auth.publish has no auto).
 */
enum config_auth {
    CONFIG_AUTH_NONE,
    CONFIG_AUTH_REQUIRED,
    CONFIG_AUTH_AUTO, /* required unless listen is a loopback address */
};

/* A key that turns something on or off; its choice list ("off", "on") indexes it. */
enum config_switch {
    CONFIG_OFF,
    CONFIG_ON,
};

struct config {
    char *listen;                    /* "host:port", numeric */
    char *data_dir;                  /* created at start if missing */
    enum log_level log_level;
    enum vane_log_format log_format;
    uint64_t segment_size;           /* store.segment_size, bytes */
    uint64_t snapshot_entries;       /* store.snapshot_entries: 0 for about every 16 MiB */
    uint64_t max_request_size;       /* gateway.max_request_size, bytes */
    uint64_t idempotency_window_ms;  /* gateway.idempotency_window */
    enum config_switch discard_endpoint; /* gateway.discard_endpoint: POST /bench/discard */
    enum config_auth auth_admin;     /* auth.admin: auto, required or none */
    enum config_auth auth_publish;   /* auth.publish: none or required */
    char *plugins_dirs;              /* plugins.dirs: ':'-separated folders; "": the defaults */
    char *scripts_dirs;              /* scripts.dirs: ':'-separated folders; "": the defaults */
    uint64_t scripts_budget;         /* scripts.budget: Lua instructions per call */
    uint64_t scripts_memory;         /* scripts.memory: bytes per script's Lua state */
    char *connectors;                /* connectors: JSON object of name -> spec (engine.h) */
    uint64_t cluster_node_id;        /* cluster.node_id: 0 for a single node */
    char *cluster_nodes;             /* cluster.nodes: JSON array (cluster/members.h) */
    uint64_t cluster_replicas;       /* cluster.replicas: per eventlog */
    enum config_switch cluster_join; /* cluster.join: joins a running cluster */
    char *source;                    /* the file it came from, or NULL: embedded default */
};

enum config_type {
    CONFIG_SECTION, /* a nested table of further keys */
    CONFIG_STRING,
    CONFIG_ENUM, /* a string from a fixed list, stored as its index */
    CONFIG_SIZE, /* bytes: an integer, or a string with a unit ("64MiB"), stored as uint64_t */
    CONFIG_DURATION, /* an integer (seconds) or a string ("500ms", "2m"), stored as uint64_t ms */
    CONFIG_COUNT, /* a whole number (integer, or its digits in a string), stored as uint64_t */
    CONFIG_JSON,  /* a table (or its JSON text), stored as JSON text: its check sees that text */
};

struct config_key {
    const char *name;          /* dotted path, "log.level" */
    enum config_type type;
    size_t offset;             /* into struct config; unused for sections */
    const char *default_value; /* as it would be written in the file */
    const char *const *choices; /* CONFIG_ENUM: NULL-terminated list */
    /* Extra check of a string value; returns NULL or what was expected. */
    const char *(*check)(const char *value);
    uint64_t min, max;         /* CONFIG_SIZE, CONFIG_DURATION, CONFIG_COUNT: the range accepted */
    const char *doc;
};

/* Sets every key to its default.  Never fails. */
void config_init(struct config *cfg);

/*
 * Loads the Lua file at path over the current values.  Returns 0, or
 * VANE_ECONFIG with *errmsg (freed by the caller with vane_free) naming the
 * file, the key, and the line when Lua reports one.
 */
int config_load_file(struct config *cfg, const char *path, char **errmsg);

/* As config_load_file, for a chunk held in memory; chunkname names it in messages. */
int config_load_string(struct config *cfg, const char *chunkname, const char *text,
                       char **errmsg);

/*
 * Sets one key from text, as a command-line override does.  Returns 0, or
 * VANE_ECONFIG with *errmsg naming the key.
 */
int config_set(struct config *cfg, const char *key, const char *value, char **errmsg);

/* Prints every key with its value, one "key value" per line, after the source. */
void config_print(const struct config *cfg, FILE *out);

void config_free(struct config *cfg);

/* The schema, for documentation and tests. */
const struct config_key *config_keys(size_t *count);

#endif

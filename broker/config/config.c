/*
 * config.c -- the configuration schema and its Lua loader (see config.h).
 *
 * The schema below is the only place a key is declared: its type, where it
 * is stored, its default (written as in the file, and parsed by the same code
 * as the file), what it accepts and its documentation.  doc/configuration.md
 * documents every key of it; tests/test-config.c checks that it does.
 *
 * The file runs in a fresh Lua state with the standard libraries, so an
 * operator can compute values and read secrets with os.getenv.  The file is
 * the operator's own, hence trusted; the plugin scripts' sandbox is not used.
 * Only text chunks are loaded, never precompiled bytecode.
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>

#include <jansson.h>
#include <lauxlib.h>
#include <lualib.h>

#include "cluster/members.h"
#include "config/config.h"
#include "core/units.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/net.h"

static const char *const log_levels[] = {"error", "warn", "info", "debug", NULL};
static const char *const log_formats[] = {"text", "json", NULL};
/* Both index enum config_auth. */
static const char *const auth_admin_modes[] = {"none", "required", "auto", NULL};
static const char *const auth_publish_modes[] = {"none", "required", NULL};
static const char *const switch_states[] = {"off", "on", NULL}; /* indexes enum config_switch */

static const char *check_listen(const char *value)
{
    struct sockaddr_storage addr;

    if (vane_net_parse_addr(value, &addr) == 0)
        return NULL;
    return "a numeric address and port such as \"127.0.0.1:8080\" or \"[::1]:8080\"";
}

static const char *check_path(const char *value)
{
    return *value != '\0' ? NULL : "a non-empty path";
}

/* An object of objects: {"name": {"plugin": ...}, ...} (the engine checks each spec). */
static const char *check_connectors(const char *value)
{
    json_t *all = json_loads(value, 0, NULL);
    const char *key;
    json_t *spec;
    bool good = json_is_object(all);

    json_object_foreach(all, key, spec)
        good = good && json_is_object(spec);
    json_decref(all);
    return good ? NULL
                : "a table of connectors by name, each a table such as { plugin = "
                  "\"source-http\", eventbus = \"orders\" }";
}

static const char *check_cluster_nodes(const char *value)
{
    return cluster_members_check_json(value);
}

#define FIELD(name) offsetof(struct config, name)

#define KIB UINT64_C(1024)
#define MIB (KIB * 1024)
#define GIB (MIB * 1024)

static const struct config_key schema[] = {
    {"listen", CONFIG_STRING, FIELD(listen), "127.0.0.1:8080", NULL, check_listen, 0, 0,
     "Address and port of the HTTP listener (gateway, admin API, health). Port 0 picks a free port."},
    {"data_dir", CONFIG_STRING, FIELD(data_dir), "./var", NULL, check_path, 0, 0,
     "Directory that holds the broker's data and its lock file; created if missing."},
    {"log", CONFIG_SECTION, 0, NULL, NULL, NULL, 0, 0, "Logging."},
    {"log.level", CONFIG_ENUM, FIELD(log_level), "info", log_levels, NULL, 0, 0,
     "Least severe level that is logged: error, warn, info or debug."},
    {"log.format", CONFIG_ENUM, FIELD(log_format), "text", log_formats, NULL, 0, 0,
     "Log line format: text, or json for one JSON object per line."},
    {"store", CONFIG_SECTION, 0, NULL, NULL, NULL, 0, 0, "The event store."},
    {"store.segment_size", CONFIG_SIZE, FIELD(segment_size), "64MiB", NULL, NULL, 64 * KIB,
     4 * GIB, "Size at which an eventlog's segment file is closed and a new one started."},
    {"store.snapshot_entries", CONFIG_COUNT, FIELD(snapshot_entries), "0", NULL, NULL, 0,
     UINT32_MAX, "Raft entries between an eventlog's raft snapshots (and kept after one); 0: "
     "about every 16 MiB of entries, adapted to their size."},
    {"gateway", CONFIG_SECTION, 0, NULL, NULL, NULL, 0, 0, "Publishing over HTTP."},
    {"gateway.max_request_size", CONFIG_SIZE, FIELD(max_request_size), "1MiB", NULL, NULL,
     1 * KIB, 64 * MIB,
     "Largest request body taken (a batch included); larger ones are answered 413."},
    {"gateway.idempotency_window", CONFIG_DURATION, FIELD(idempotency_window_ms), "2m", NULL,
     NULL, 0, 24 * 3600 * 1000,
     "How long a published (source, id) is remembered, so a retried publish is answered with "
     "the first one's position and not stored again. 0 turns this off."},
    {"gateway.discard_endpoint", CONFIG_ENUM, FIELD(discard_endpoint), "off", switch_states, NULL,
     0, 0,
     "on: POST /bench/discard reads the body and answers 200 {} (a reference for benchmarks)."},
    {"auth", CONFIG_SECTION, 0, NULL, NULL, NULL, 0, 0, "Access control: the bearer token."},
    {"auth.admin", CONFIG_ENUM, FIELD(auth_admin), "auto", auth_admin_modes, NULL, 0, 0,
     "Whether /api/v1/ asks for the token: auto (unless listen is loopback), required or none."},
    {"auth.publish", CONFIG_ENUM, FIELD(auth_publish), "none", auth_publish_modes, NULL, 0, 0,
     "Whether POST /gateway/ asks for the token: none or required."},
    {"plugins", CONFIG_SECTION, 0, NULL, NULL, NULL, 0, 0, "Plugin folders."},
    {"plugins.dirs", CONFIG_STRING, FIELD(plugins_dirs), "", NULL, NULL, 0, 0,
     "Folders scanned and watched for .so plugins, ':'-separated; empty: ./plugins, "
     "./connectors, those beside the vaned executable and the installed ones."},
    {"scripts", CONFIG_SECTION, 0, NULL, NULL, NULL, 0, 0, "Lua scripts (filters and transforms)."},
    {"scripts.dirs", CONFIG_STRING, FIELD(scripts_dirs), "", NULL, NULL, 0, 0,
     "Folders scanned and watched for .lua scripts, ':'-separated; empty: ./filters-lua, the "
     "one beside the vaned executable and the installed one."},
    {"scripts.budget", CONFIG_COUNT, FIELD(scripts_budget), "1000000", NULL, NULL, 1000,
     1000000000, "Lua VM instructions one call of a script may run before it is stopped."},
    {"scripts.memory", CONFIG_SIZE, FIELD(scripts_memory), "16MiB", NULL, NULL, 256 * KIB,
     1 * GIB, "Memory one script's Lua state may hold; past it, the call fails."},
    {"connectors", CONFIG_JSON, FIELD(connectors), "{}", NULL, check_connectors, 0, 0,
     "Connectors to run, by name: each a spec as POST /api/v1/connectors takes it (plugin, "
     "eventbus or subscription, options, min, max, ...); made or updated at every start."},
    {"cluster", CONFIG_SECTION, 0, NULL, NULL, NULL, 0, 0,
     "Running as one node of a cluster (doc/cluster.md)."},
    {"cluster.node_id", CONFIG_COUNT, FIELD(cluster_node_id), "0", NULL, NULL, 0, UINT32_MAX,
     "This node's id among cluster.nodes; 0: a single node, no cluster."},
    {"cluster.nodes", CONFIG_JSON, FIELD(cluster_nodes), "[]", NULL, check_cluster_nodes, 0, 0,
     "Every node of the cluster, the same list on each: { id = 1, http = \"127.0.0.1:8081\", "
     "peer = \"127.0.0.1:9101\" }, ... (http: its HTTP API; peer: its peer port, where the other "
     "nodes reach its raft groups)."},
    {"cluster.join", CONFIG_ENUM, FIELD(cluster_join), "off", switch_states, NULL, 0, 0,
     "on: this node joins a cluster that runs without it (doc/cluster.md, adding a node): it "
     "starts no raft group of its own and waits for `vanectl cluster join` on a member."},
    {"cluster.replicas", CONFIG_COUNT, FIELD(cluster_replicas), "3", NULL, NULL, 1, 7,
     "Voting replicas of each eventlog, each on its own node (at most the node count); the "
     "other nodes follow it as raft standbys."},
};

#define SCHEMA_SIZE (sizeof(schema) / sizeof(schema[0]))

_Static_assert(sizeof(enum log_level) == sizeof(int), "enum keys are stored as int");
_Static_assert(sizeof(enum config_auth) == sizeof(int), "enum keys are stored as int");
_Static_assert(sizeof(enum config_switch) == sizeof(int), "enum keys are stored as int");

const struct config_key *config_keys(size_t *count)
{
    *count = SCHEMA_SIZE;
    return schema;
}

static const struct config_key *find_key(const char *name)
{
    for (size_t i = 0; i < SCHEMA_SIZE; i++)
        if (strcmp(schema[i].name, name) == 0)
            return &schema[i];
    return NULL;
}

static char *expected_choices(const struct config_key *key, const char *value)
{
    struct vane_buf msg = VANE_BUF_INIT;

    vane_buf_appendf(&msg, "key '%s': expected one of ", key->name);
    for (size_t i = 0; key->choices[i] != NULL; i++)
        vane_buf_appendf(&msg, "%s%s", i ? ", " : "", key->choices[i]);
    vane_buf_appendf(&msg, "; got \"%s\"", value);
    return vane_buf_detach(&msg);
}

/* Digits only, into *n.  Returns 0 or -EINVAL. */
static int parse_count(const char *text, uint64_t *n)
{
    char *end;

    errno = 0;
    *n = strtoull(text, &end, 10);
    return *text >= '0' && *text <= '9' && *end == '\0' && errno == 0 ? 0 : -EINVAL;
}

/* Stores a textual value for a non-section key, checking it first. */
static int set_value(struct config *cfg, const struct config_key *key, const char *value,
                     char **errmsg)
{
    char *field = (char *)cfg + key->offset;
    const char *expected;

    switch (key->type) {
    case CONFIG_STRING:
    case CONFIG_JSON:
        if (key->check != NULL && (expected = key->check(value)) != NULL) {
            *errmsg = vane_asprintf("key '%s': expected %s; got \"%s\"", key->name, expected, value);
            return VANE_ECONFIG;
        }
        vane_free(*(char **)field);
        *(char **)field = vane_strdup(value);
        return 0;
    case CONFIG_ENUM:
        for (int i = 0; key->choices[i] != NULL; i++) {
            if (strcmp(key->choices[i], value) == 0) {
                *(int *)field = i;
                return 0;
            }
        }
        *errmsg = expected_choices(key, value);
        return VANE_ECONFIG;
    case CONFIG_SIZE: {
        uint64_t bytes;

        if (vane_parse_size(value, &bytes) != 0 || bytes < key->min || bytes > key->max) {
            *errmsg = vane_asprintf("key '%s': expected a size from %" PRIu64 " to %" PRIu64
                                    " bytes, written like 65536 or \"64MiB\"; got \"%s\"",
                                    key->name, key->min, key->max, value);
            return VANE_ECONFIG;
        }
        *(uint64_t *)field = bytes;
        return 0;
    }
    case CONFIG_DURATION: {
        uint64_t ms;

        if (vane_parse_duration_ms(value, &ms) != 0 || ms < key->min || ms > key->max) {
            *errmsg = vane_asprintf("key '%s': expected a duration from %" PRIu64 " to %" PRIu64
                                    " ms, written like 30 (seconds) or \"500ms\", \"2m\", "
                                    "\"1h\"; got \"%s\"",
                                    key->name, key->min, key->max, value);
            return VANE_ECONFIG;
        }
        *(uint64_t *)field = ms;
        return 0;
    }
    case CONFIG_COUNT: {
        uint64_t n;

        if (parse_count(value, &n) != 0 || n < key->min || n > key->max) {
            *errmsg = vane_asprintf("key '%s': expected a whole number from %" PRIu64
                                    " to %" PRIu64 "; got \"%s\"",
                                    key->name, key->min, key->max, value);
            return VANE_ECONFIG;
        }
        *(uint64_t *)field = n;
        return 0;
    }
    case CONFIG_SECTION:
        break;
    }
    *errmsg = vane_asprintf("key '%s': is a section and takes a table", key->name);
    return VANE_ECONFIG;
}

void config_init(struct config *cfg)
{
    char *errmsg = NULL;

    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < SCHEMA_SIZE; i++) {
        if (schema[i].type == CONFIG_SECTION)
            continue;
        /* The defaults are part of the program: one that fails is a bug. */
        if (set_value(cfg, &schema[i], schema[i].default_value, &errmsg) != 0)
            assert(!"invalid default in the configuration schema");
    }
}

int config_set(struct config *cfg, const char *name, const char *value, char **errmsg)
{
    const struct config_key *key = find_key(name);

    if (key == NULL) {
        *errmsg = vane_asprintf("unknown key '%s'", name);
        return VANE_ECONFIG;
    }
    return set_value(cfg, key, value, errmsg);
}

static int walk_table(lua_State *L, struct config *cfg, const char *prefix, char **errmsg);

#define LUA_JSON_MAX_DEPTH 32

/*
 * The Lua value at idx as JSON, or NULL with *errmsg: a table whose keys
 * are exactly 1..n is an array, any other an object of string keys (so an
 * empty table is an empty object: options = {} means no options).
 */
static json_t *lua_to_json(lua_State *L, int idx, int depth, char **errmsg)
{
    json_t *out = NULL;
    lua_Integer n;

    idx = lua_absindex(L, idx);
    switch (lua_type(L, idx)) {
    case LUA_TBOOLEAN: return json_boolean(lua_toboolean(L, idx));
    case LUA_TSTRING: return json_stringn(lua_tostring(L, idx), lua_rawlen(L, idx));
    case LUA_TNUMBER:
        return lua_isinteger(L, idx) ? json_integer(lua_tointeger(L, idx))
                                     : json_real(lua_tonumber(L, idx));
    case LUA_TTABLE: break;
    default:
        *errmsg = vane_asprintf("expected a string, number, boolean or table; got %s",
                                luaL_typename(L, idx));
        return NULL;
    }
    if (depth >= LUA_JSON_MAX_DEPTH) {
        *errmsg = vane_asprintf("tables nested deeper than %d", LUA_JSON_MAX_DEPTH);
        return NULL;
    }
    n = (lua_Integer)lua_rawlen(L, idx);
    out = n > 0 ? json_array() : json_object();
    lua_pushnil(L);
    while (out != NULL && lua_next(L, idx) != 0) {
        bool in_array = n > 0 && lua_isinteger(L, -2) && lua_tointeger(L, -2) >= 1 &&
                        lua_tointeger(L, -2) <= n;
        json_t *v = lua_to_json(L, -1, depth + 1, errmsg);

        if (v == NULL || (!in_array && lua_type(L, -2) != LUA_TSTRING) ||
            (n > 0 && !in_array)) {
            if (v != NULL)
                *errmsg = vane_strdup("expected a list (keys 1..n) or a table of string keys");
            json_decref(v);
            json_decref(out);
            out = NULL;
            lua_pop(L, 2);
            break;
        }
        if (in_array)
            json_array_insert_new(out, (size_t)lua_tointeger(L, -2) - 1, v);
        else
            json_object_set_new(out, lua_tostring(L, -2), v);
        lua_pop(L, 1);
    }
    return out;
}

/* A CONFIG_JSON key given as a table: its JSON text, checked as a string would be. */
static int apply_lua_table(lua_State *L, struct config *cfg, const struct config_key *key,
                           char **errmsg)
{
    char *why = NULL, *text;
    json_t *json = lua_to_json(L, -1, 0, &why);
    int err;

    if (json == NULL) {
        *errmsg = vane_asprintf("key '%s': %s", key->name, why);
        vane_free(why);
        return VANE_ECONFIG;
    }
    text = json_dumps(json, JSON_COMPACT | JSON_SORT_KEYS);
    err = set_value(cfg, key, text, errmsg);
    free(text);
    json_decref(json);
    return err;
}

/* Applies the value on top of the Lua stack to the key called name. */
static int apply_lua_value(lua_State *L, struct config *cfg, const char *name, char **errmsg)
{
    const struct config_key *key = find_key(name);
    int type = lua_type(L, -1);

    if (key == NULL) {
        *errmsg = vane_asprintf("unknown key '%s'", name);
        return VANE_ECONFIG;
    }
    if (key->type == CONFIG_SECTION) {
        if (type != LUA_TTABLE) {
            *errmsg = vane_asprintf("key '%s': expected a table; got %s", name, lua_typename(L, type));
            return VANE_ECONFIG;
        }
        return walk_table(L, cfg, name, errmsg);
    }
    if (key->type == CONFIG_JSON && type == LUA_TTABLE)
        return apply_lua_table(L, cfg, key, errmsg);
    if ((key->type == CONFIG_SIZE || key->type == CONFIG_DURATION || key->type == CONFIG_COUNT) &&
        lua_isinteger(L, -1)) {
        char text[32];

        snprintf(text, sizeof(text), "%lld", (long long)lua_tointeger(L, -1));
        return set_value(cfg, key, text, errmsg);
    }
    if (type != LUA_TSTRING) {
        *errmsg = vane_asprintf("key '%s': expected %s; got %s", name,
                                key->type == CONFIG_SIZE       ? "a size (integer or string)"
                                : key->type == CONFIG_DURATION ? "a duration (integer or string)"
                                : key->type == CONFIG_COUNT    ? "a whole number"
                                                               : "a string",
                                lua_typename(L, type));
        return VANE_ECONFIG;
    }
    return set_value(cfg, key, lua_tostring(L, -1), errmsg);
}

/* Walks the table on top of the stack, whose keys live under prefix. */
static int walk_table(lua_State *L, struct config *cfg, const char *prefix, char **errmsg)
{
    int err = 0;

    lua_pushnil(L);
    while (err == 0 && lua_next(L, -2) != 0) {
        char *name;

        if (lua_type(L, -2) != LUA_TSTRING) {
            *errmsg = vane_asprintf("%s%s%sexpected name = value pairs; got a %s key",
                                    prefix ? "in '" : "", prefix ? prefix : "",
                                    prefix ? "': " : "", lua_typename(L, lua_type(L, -2)));
            lua_pop(L, 2);
            return VANE_ECONFIG;
        }
        name = prefix ? vane_asprintf("%s.%s", prefix, lua_tostring(L, -2))
                      : vane_strdup(lua_tostring(L, -2));
        err = apply_lua_value(L, cfg, name, errmsg);
        vane_free(name);
        lua_pop(L, 1);
    }
    if (err != 0)
        lua_pop(L, 1); /* the key lua_next left */
    return err;
}

/* Runs the chunk loaded on top of the stack and applies the table it returns. */
static int run_chunk(lua_State *L, struct config *cfg, const char *chunkname, char **errmsg)
{
    char *why = NULL;
    int err;

    if (lua_pcall(L, 0, 1, 0) != LUA_OK) {
        *errmsg = vane_asprintf("%s", lua_tostring(L, -1));
        return VANE_ECONFIG;
    }
    if (!lua_istable(L, -1)) {
        *errmsg = vane_asprintf("%s: expected the file to return a table (return { ... }); got %s",
                                chunkname, luaL_typename(L, -1));
        return VANE_ECONFIG;
    }
    err = walk_table(L, cfg, NULL, &why);
    if (err != 0) {
        *errmsg = vane_asprintf("%s: %s", chunkname, why);
        vane_free(why);
    }
    return err;
}

static int load_chunk(struct config *cfg, const char *chunkname, const char *path,
                      const char *text, char **errmsg)
{
    lua_State *L = luaL_newstate();
    int status, err;

    if (L == NULL) {
        *errmsg = vane_strdup("cannot create a Lua state");
        return VANE_ECONFIG;
    }
    luaL_openlibs(L);
    if (path != NULL)
        status = luaL_loadfilex(L, path, "t");
    else
        status = luaL_loadbufferx(L, text, strlen(text), chunkname, "t");
    if (status != LUA_OK) {
        /* Lua's message names the file, and the line for a syntax error. */
        *errmsg = vane_strdup(lua_tostring(L, -1));
        err = VANE_ECONFIG;
    } else {
        err = run_chunk(L, cfg, chunkname, errmsg);
    }
    lua_close(L);
    return err;
}

int config_load_file(struct config *cfg, const char *path, char **errmsg)
{
    int err = load_chunk(cfg, path, path, NULL, errmsg);

    if (err == 0) {
        vane_free(cfg->source);
        cfg->source = vane_strdup(path);
    }
    return err;
}

int config_load_string(struct config *cfg, const char *chunkname, const char *text, char **errmsg)
{
    return load_chunk(cfg, chunkname, NULL, text, errmsg);
}

void config_print(const struct config *cfg, FILE *out)
{
    fprintf(out, "config %s\n", cfg->source ? cfg->source : "(embedded default)");
    for (size_t i = 0; i < SCHEMA_SIZE; i++) {
        const char *field = (const char *)cfg + schema[i].offset;

        if (schema[i].type == CONFIG_STRING || schema[i].type == CONFIG_JSON)
            fprintf(out, "%s %s\n", schema[i].name, *(char *const *)field);
        else if (schema[i].type == CONFIG_ENUM)
            fprintf(out, "%s %s\n", schema[i].name, schema[i].choices[*(const int *)field]);
        else if (schema[i].type == CONFIG_SIZE || schema[i].type == CONFIG_COUNT)
            fprintf(out, "%s %" PRIu64 "\n", schema[i].name, *(const uint64_t *)field);
        else if (schema[i].type == CONFIG_DURATION)
            fprintf(out, "%s %" PRIu64 "ms\n", schema[i].name, *(const uint64_t *)field);
    }
}

void config_free(struct config *cfg)
{
    for (size_t i = 0; i < SCHEMA_SIZE; i++)
        if (schema[i].type == CONFIG_STRING || schema[i].type == CONFIG_JSON)
            vane_free(*(char **)((char *)cfg + schema[i].offset));
    vane_free(cfg->source);
    memset(cfg, 0, sizeof(*cfg));
}

/*
 * test-config.c -- the configuration schema and its Lua loader: defaults,
 * the shipped etc/vaned.lua, every kind of bad input, and that
 * doc/configuration.md documents every key.
 */
#include <stdlib.h>
#include <string.h>

#include "cluster/members.h"
#include "config/config.h"
#include "core/alloc.h"
#include "core/error.h"
#include "harness.h"
#include "tap.h"

static char *tmpdir;

/* Loads text as a config file; returns the error message or NULL. */
static char *load_text(struct config *cfg, const char *text)
{
    char *path = harness_write_file(tmpdir, "vaned.lua", text);
    char *errmsg = NULL;
    int err;

    config_init(cfg);
    err = config_load_file(cfg, path, &errmsg);
    ok((err == 0) == (errmsg == NULL), "an error comes with a message and only then");
    vane_free(path);
    return errmsg;
}

static void test_defaults(void)
{
    struct config cfg;

    config_init(&cfg);
    is_str(cfg.listen, "127.0.0.1:8080", "default listen");
    is_str(cfg.data_dir, "./var", "default data_dir");
    is_int(cfg.log_level, LOG_LEVEL_INFO, "default log.level");
    is_int(cfg.log_format, VANE_LOG_TEXT, "default log.format");
    is_int(cfg.segment_size, 64 << 20, "default store.segment_size");
    ok(cfg.source == NULL, "defaults come from no file");
    config_free(&cfg);
}

static void test_shipped_file(void)
{
    char *path = vane_asprintf("%s/etc/vaned.lua", getenv("VANE_SRCDIR"));
    struct config cfg, defaults;
    char *errmsg = NULL;

    config_init(&cfg);
    config_init(&defaults);
    is_int(config_load_file(&cfg, path, &errmsg), 0, "etc/vaned.lua loads");
    is_str(errmsg, NULL, "with no error");
    is_str(cfg.listen, defaults.listen, "it restates the default listen");
    is_str(cfg.data_dir, defaults.data_dir, "it restates the default data_dir");
    is_int(cfg.log_level, defaults.log_level, "it restates the default log.level");
    is_int(cfg.log_format, defaults.log_format, "it restates the default log.format");
    is_int(cfg.segment_size, defaults.segment_size, "it restates the default store.segment_size");
    is_str(cfg.source, path, "source names the file");
    vane_free(errmsg);
    vane_free(path);
    config_free(&cfg);
    config_free(&defaults);
}

static void test_values(void)
{
    struct config cfg;
    char *errmsg;

    setenv("VANE_TEST_DATA", "/srv/vane", 1);
    errmsg = load_text(&cfg, "-- comment\n"
                             "return {\n"
                             "  listen = '[::1]:9000',\n"
                             "  data_dir = os.getenv('VANE_TEST_DATA') or './var',\n"
                             "  log = { level = 'debug', format = 'json' },\n"
                             "}\n");
    is_str(errmsg, NULL, "a full file loads");
    is_str(cfg.listen, "[::1]:9000", "listen is read");
    is_str(cfg.data_dir, "/srv/vane", "os.getenv works for values");
    is_int(cfg.log_level, LOG_LEVEL_DEBUG, "log.level is read");
    is_int(cfg.log_format, VANE_LOG_JSON, "log.format is read");
    vane_free(errmsg);
    config_free(&cfg);

    errmsg = load_text(&cfg, "return { store = { segment_size = '1GiB' } }\n");
    is_str(errmsg, NULL, "a size with a unit loads");
    is_int(cfg.segment_size, 1 << 30, "1GiB is 2^30 bytes");
    vane_free(errmsg);
    config_free(&cfg);
    errmsg = load_text(&cfg, "return { store = { segment_size = 1048576 } }\n");
    is_int(cfg.segment_size, 1 << 20, "a size can be an integer");
    vane_free(errmsg);
    config_free(&cfg);

    errmsg = load_text(&cfg, "return { log = { level = 'warn' } }\n");
    is_str(errmsg, NULL, "a partial file loads");
    is_int(cfg.log_level, LOG_LEVEL_WARN, "the key it sets changes");
    is_str(cfg.listen, "127.0.0.1:8080", "the keys it leaves out keep their defaults");
    vane_free(errmsg);
    config_free(&cfg);
}

/* Checks that text is refused with a message containing each of wants. */
static void refused(const char *text, const char *what, const char *want1, const char *want2)
{
    struct config cfg;
    char *errmsg = load_text(&cfg, text);

    contains(errmsg, want1, "%s: message has '%s'", what, want1);
    if (want2 != NULL)
        contains(errmsg, want2, "%s: message has '%s'", what, want2);
    vane_free(errmsg);
    config_free(&cfg);
}

static void test_refusals(void)
{
    refused("return { lisen = '127.0.0.1:1' }", "unknown key", "unknown key 'lisen'",
            "vaned.lua");
    refused("return { log = { colour = 'red' } }", "unknown nested key",
            "unknown key 'log.colour'", NULL);
    refused("return { listen = 8080 }", "wrong type", "key 'listen': expected a string",
            "got number");
    refused("return { log = 'debug' }", "string for a section", "key 'log': expected a table",
            NULL);
    refused("return { data_dir = {} }", "table for a string", "key 'data_dir'", "got table");
    refused("return { log = { level = 'verbose' } }", "bad enum value",
            "key 'log.level': expected one of error, warn, info, debug", "\"verbose\"");
    refused("return { listen = 'localhost:8080' }", "bad address", "key 'listen'",
            "127.0.0.1:8080");
    refused("return { data_dir = '' }", "empty path", "key 'data_dir'", "non-empty");
    refused("return { store = { segment_size = '64 parsecs' } }", "bad size",
            "key 'store.segment_size': expected a size", "\"64 parsecs\"");
    refused("return { store = { segment_size = 1024 } }", "size too small",
            "key 'store.segment_size': expected a size from 65536", NULL);
    refused("return { store = { segment_size = true } }", "size of the wrong type",
            "key 'store.segment_size': expected a size (integer or string)", "got boolean");
    refused("return { 'a list' }", "list item", "expected name = value pairs", NULL);
    refused("return {\n  listen = ,\n}\n", "syntax error", "vaned.lua:2:", NULL);
    refused("\n\nerror('no secret set')\n", "runtime error", "vaned.lua:3:", "no secret set");
    refused("x = 1", "no table returned", "expected the file to return a table", "got nil");
}

/* cluster.nodes is checked as the file loads; the rest of a cluster's
 * consistency (cluster/members.h) when vaned starts it. */
static void test_cluster(void)
{
    struct cluster_members m;
    struct config cfg;
    char *errmsg;

    refused("return { cluster = { nodes = {\n"
            "  { id = 0, http = '127.0.0.1:1', peer = '127.0.0.1:2' } } } }",
            "node id 0", "key 'cluster.nodes'", "{ id = 1, http = ");
    refused("return { cluster = { nodes = { { id = 1, http = 'here', peer = '127.0.0.1:2' } } } }",
            "node address", "key 'cluster.nodes'", NULL);
    refused("return { cluster = { replicas = 9 } }", "too many replicas", "key 'cluster.replicas'",
            NULL);
    errmsg = load_text(&cfg, "return { cluster = { node_id = 4, nodes = {\n"
                             "  { id = 1, http = '127.0.0.1:8081', peer = '127.0.0.1:9101' },\n"
                             "  { id = 2, http = '127.0.0.1:8082', peer = '127.0.0.1:9102' }\n"
                             "} } }\n");
    is_str(errmsg, NULL, "a cluster loads");
    vane_free(errmsg);
    errmsg = NULL;
    ok(cluster_members_parse(&m, cfg.cluster_nodes, cfg.cluster_node_id, cfg.cluster_replicas,
                             &errmsg) == -EINVAL,
       "a node_id not among the nodes is refused at start");
    contains(errmsg ? errmsg : "", "cluster.node_id: expected one of the ids", "and says so");
    vane_free(errmsg);
    errmsg = NULL;
    ok(cluster_members_parse(&m, cfg.cluster_nodes, 2, 3, &errmsg) == 0 && m.count == 2 &&
           m.replicas == 2,
       "node 2 of two: replicas capped at the node count");
    cluster_members_free(&m);
    vane_free(errmsg);
    errmsg = NULL;
    ok(cluster_members_parse(&m, "[{\"id\":1,\"http\":\"127.0.0.1:1\",\"peer\":\"127.0.0.1:2\"},"
                                 "{\"id\":1,\"http\":\"127.0.0.1:3\",\"peer\":\"127.0.0.1:4\"}]",
                             1, 3, &errmsg) == -EINVAL,
       "an id listed twice is refused");
    contains(errmsg ? errmsg : "", "id 1 is listed twice", "and says so");
    vane_free(errmsg);
    config_free(&cfg);
}

static void test_missing_file(void)
{
    struct config cfg;
    char *errmsg = NULL;

    config_init(&cfg);
    is_int(config_load_file(&cfg, "/nonexistent/vaned.lua", &errmsg), VANE_ECONFIG,
           "a missing file is a configuration error");
    contains(errmsg, "/nonexistent/vaned.lua", "the message names the file");
    vane_free(errmsg);
    config_free(&cfg);
}

static void test_set(void)
{
    struct config cfg;
    char *errmsg = NULL;

    config_init(&cfg);
    is_int(config_set(&cfg, "listen", "0.0.0.0:80", &errmsg), 0, "config_set takes a good value");
    is_str(cfg.listen, "0.0.0.0:80", "and stores it");
    is_int(config_set(&cfg, "listen", "nowhere", &errmsg), VANE_ECONFIG, "and refuses a bad one");
    contains(errmsg, "key 'listen'", "naming the key");
    vane_free(errmsg);
    errmsg = NULL;
    is_int(config_set(&cfg, "nope", "1", &errmsg), VANE_ECONFIG, "an unknown key is refused");
    vane_free(errmsg);
    config_free(&cfg);
}

static void test_documented(void)
{
    char *path = vane_asprintf("%s/doc/configuration.md", getenv("VANE_SRCDIR"));
    char *doc = harness_read_file(path);
    const struct config_key *keys;
    size_t count;

    ok(doc != NULL, "doc/configuration.md exists");
    keys = config_keys(&count);
    for (size_t i = 0; i < count; i++) {
        char *needle = vane_asprintf("`%s`", keys[i].name);

        contains(doc, needle, "doc/configuration.md documents %s", keys[i].name);
        vane_free(needle);
    }
    vane_free(doc);
    vane_free(path);
}

int main(void)
{
    tmpdir = harness_tempdir();
    test_defaults();
    test_shipped_file();
    test_values();
    test_refusals();
    test_cluster();
    test_missing_file();
    test_set();
    test_documented();
    harness_rmtree(tmpdir);
    return tap_done();
}

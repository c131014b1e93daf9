/*
 * test-plugins.c -- .so plugins, for real: the SDK's options, events and
 * host services called directly on the example plugins the build made
 * (plugins/filter-severity, plugins/transform-uppercase); the registry in
 * this process (a plugin replaced while a user holds the old version, then
 * removed); then a running vaned watching a folder while the test compiles
 * plugins from the sources in tests/plugins/ with $VANE_CC and drops them in: the good
 * one appears in GET /api/v1/plugins, each broken one is refused with its
 * reason while vaned goes on serving, a replaced file shows its new
 * version, a removed one leaves the list; vanectl plugin list|info show
 * them; and vaned stops cleanly.
 *
 * Files are dropped the way doc/plugins.md says to: compiled beside the
 * folder and renamed into it, so the watcher never sees half a file.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "core/alloc.h"
#include "core/arena.h"
#include "core/buf.h"
#include "event/event.h"
#include "metrics/metrics.h"
#include "plugin/plugin.h"
#include "plugin/plugin_event.h"
#include "plugin/plugin_host.h"
#include "plugin/plugin_instance.h"
#include "plugin/plugin_options.h"
#include "plugin/plugin_registry.h"
#include "harness.h"
#include "tap.h"

static char *tmpdir;

/* ---- building plugins ---------------------------------------------------------------- */

/* Compiles source and renames the result to dir/name, as one would drop a plugin in. */
static bool drop(const char *source, const char *flags, const char *dir, const char *name)
{
    char *staged = vane_asprintf("%s/.%s.tmp", tmpdir, name);
    char *final = vane_asprintf("%s/%s", dir, name);
    bool done = harness_build_plugin(source, flags, staged) && rename(staged, final) == 0;

    vane_free(staged);
    vane_free(final);
    return done;
}

/* Copies a file (the build's example plugins into a test folder). */
static bool copy_file(const char *from, const char *to)
{
    const char *argv[] = {"/bin/cp", from, to, NULL};
    int status = harness_run(argv, NULL, NULL, NULL);

    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* ---- options ------------------------------------------------------------------------- */

static int check_table(const struct vane_option *table, char **why)
{
    size_t count;

    *why = NULL;
    return plugin_options_check_table(table, &count, why);
}

static void test_option_tables(void)
{
    static const struct vane_option dup[] = {
        {"a", VANE_OPTION_INT, NULL, 0, NULL}, {"a", VANE_OPTION_INT, NULL, 0, NULL},
        VANE_OPTIONS_END};
    static const struct vane_option bad_type[] = {{"a", 42, NULL, 0, NULL}, VANE_OPTIONS_END};
    static const struct vane_option bad_default[] = {
        {"size", VANE_OPTION_SIZE, "\"lots\"", 0, NULL}, VANE_OPTIONS_END};
    static const struct vane_option not_json[] = {
        {"name", VANE_OPTION_STRING, "plain", 0, NULL}, VANE_OPTIONS_END};
    static const struct vane_option bad_name[] = {
        {"Max-Size", VANE_OPTION_SIZE, NULL, 0, NULL}, VANE_OPTIONS_END};
    char *why;

    is_int(check_table(NULL, &why), 0, "no options table is fine");
    is_int(check_table(dup, &why), -EINVAL, "an option declared twice is refused");
    contains(why, "option 'a' is declared twice", "and the reason says which");
    vane_free(why);
    is_int(check_table(bad_type, &why), -EINVAL, "an unknown type is refused");
    contains(why, "type 42", "naming the type");
    vane_free(why);
    is_int(check_table(bad_default, &why), -EINVAL, "a default of the wrong type is refused");
    contains(why, "option 'size': default \"lots\": expected a size", "naming option and type");
    vane_free(why);
    is_int(check_table(not_json, &why), -EINVAL, "a default that is not JSON is refused");
    contains(why, "not JSON text", "saying so");
    vane_free(why);
    is_int(check_table(bad_name, &why), -EINVAL, "a bad option name is refused");
    contains(why, "\"Max-Size\"", "quoting it");
    vane_free(why);
}

static const struct vane_option every_type[] = {
    {"url", VANE_OPTION_STRING, NULL, VANE_OPTION_REQUIRED, "Where to."},
    {"retries", VANE_OPTION_INT, "3", 0, NULL},
    {"verbose", VANE_OPTION_BOOL, "false", 0, NULL},
    {"timeout", VANE_OPTION_DURATION, "\"5s\"", 0, NULL},
    {"buffer", VANE_OPTION_SIZE, "\"64KiB\"", 0, NULL},
    {"tags", VANE_OPTION_LIST, "[\"a\", \"b\"]", 0, NULL},
    {"headers", VANE_OPTION_OBJECT, NULL, 0, NULL},
    {"password", VANE_OPTION_STRING, NULL, VANE_OPTION_SECRET, NULL},
    VANE_OPTIONS_END,
};

/* Parses config (JSON text) against every_type; returns the error or NULL (*out set). */
static char *parse(const char *config, struct plugin_options **out)
{
    json_t *json = json_loads(config, 0, NULL);
    char *errmsg = NULL;
    size_t count;

    plugin_options_check_table(every_type, &count, &errmsg);
    if (plugin_options_parse(every_type, count, json, out, &errmsg) == 0)
        errmsg = NULL;
    json_decref(json);
    return errmsg;
}

static void expect_refused(const char *config, const char *want, const char *what)
{
    struct plugin_options *o = NULL;
    char *errmsg = parse(config, &o);

    ok(o == NULL && errmsg != NULL, "%s: refused", what);
    contains(errmsg, want, "%s: the error names the option and what was expected", what);
    vane_free(errmsg);
    plugin_options_free(o);
}

static void test_option_values(void)
{
    struct plugin_options *o = NULL;
    char *errmsg;

    errmsg = parse("{\"url\": \"http://x\"}", &o);
    is_str(errmsg, NULL, "only the required option given");
    is_str(plugin_options_string(o, "url"), "http://x", "a string option");
    is_int(plugin_options_int(o, "retries"), 3, "an int's default");
    is_int(plugin_options_bool(o, "verbose"), 0, "a bool's default");
    is_int(plugin_options_int(o, "timeout"), 5000, "a duration's default, in ms");
    is_int(plugin_options_int(o, "buffer"), 65536, "a size's default, in bytes");
    is_int(plugin_options_list_count(o, "tags"), 2, "a list's default");
    is_str(plugin_options_list_at(o, "tags", 1), "b", "its second string");
    is_str(plugin_options_list_at(o, "tags", 2), NULL, "past its end: NULL");
    is_int(plugin_options_is_set(o, "headers"), 0, "an option without value or default is not set");
    is_str(plugin_options_string(o, "headers"), NULL, "and reads as NULL");
    is_str(plugin_options_string(o, "nope"), NULL, "an unknown name reads as NULL");
    is_int(plugin_options_int(o, "url"), 0, "an option of another type reads as 0");
    plugin_options_free(o);

    errmsg = parse("{\"url\": \"u\", \"retries\": \"7\", \"verbose\": true, \"timeout\": 2,"
                   " \"buffer\": \"1MiB\", \"tags\": \"one\", \"headers\": {\"x\": 1}}", &o);
    is_str(errmsg, NULL, "every type set");
    is_int(plugin_options_int(o, "retries"), 7, "an int from a string of one");
    is_int(plugin_options_bool(o, "verbose"), 1, "a bool");
    is_int(plugin_options_int(o, "timeout"), 2000, "a duration of an integer of seconds");
    is_int(plugin_options_int(o, "buffer"), 1 << 20, "a size with a unit");
    is_int(plugin_options_list_count(o, "tags"), 1, "a list of one string");
    is_str(plugin_options_string(o, "headers"), "{\"x\":1}", "an object as its JSON text");
    plugin_options_free(o);

    expect_refused("{}", "option 'url' is required", "a required option missing");
    expect_refused("{\"url\": \"u\", \"colour\": 1}", "option 'colour': unknown; this plugin "
                   "takes url, retries,", "an unknown option");
    expect_refused("{\"url\": 5}", "option 'url': expected a string; got 5", "a wrong type");
    expect_refused("{\"url\": \"u\", \"timeout\": \"soon\"}",
                   "option 'timeout': expected a duration", "a bad duration");
    expect_refused("{\"url\": \"u\", \"tags\": [1]}", "option 'tags': expected an array of "
                   "strings", "a list of numbers");
    expect_refused("[1]", "options: expected a JSON object", "options not an object");
    errmsg = parse("{\"url\": \"u\", \"password\": 12345}", &o);
    contains(errmsg, "option 'password': expected a string; got an integer",
             "a secret's bad value is described, not shown");
    ok(errmsg != NULL && strstr(errmsg, "12345") == NULL, "the secret value is not in the error");
    vane_free(errmsg);
}

static void test_options_describe(void)
{
    size_t count;
    char *why = NULL;
    json_t *described;

    plugin_options_check_table(every_type, &count, &why);
    described = plugin_options_describe(every_type, count);
    is_int(json_array_size(described), 8, "every option described");
    is_str(json_string_value(json_object_get(json_array_get(described, 3), "default")), "5s",
           "a default as JSON");
    ok(json_is_true(json_object_get(json_array_get(described, 0), "required")),
       "required shown");
    ok(json_object_get(json_array_get(described, 7), "default") == NULL &&
       json_is_true(json_object_get(json_array_get(described, 7), "secret")),
       "a secret option shows no default");
    json_decref(described);
}

/* ---- events -------------------------------------------------------------------------- */

static void make_event(struct event *e)
{
    static const char data[] = "{\"n\":1}";

    *e = (struct event)EVENT_INIT;
    event_add_string(e, "specversion", EVENT_STRING, "1.0");
    event_add_string(e, "id", EVENT_STRING, "e-1");
    event_add_string(e, "source", EVENT_URI_REF, "/test");
    event_add_string(e, "type", EVENT_STRING, "com.example.t");
    event_add_string(e, "subject", EVENT_STRING, "hello");
    event_set_data(e, data, strlen(data));
}

static int releases;

static void count_release(void *ptr)
{
    releases++;
    free(ptr);
}

static void set_text(const struct vane_host *host, struct vane_event *ev, const char *name,
                     int type, const char *text, int want, const char *what)
{
    struct vane_value v = {.type = type, .ptr = text, .len = strlen(text)};

    is_int(host->event_set(ev, name, &v), want, "event_set %s: %s", name, what);
}

static void test_event_reads(const struct vane_host *host)
{
    struct event e;
    struct vane_event ev;
    struct vane_value v;
    const char *name, *data;
    size_t len, data_len;

    make_event(&e);
    plugin_event_wrap_const(&ev, &e);
    ok(host->event_get(&ev, "subject", &v) == 1 && v.type == VANE_STRING && v.len == 5 &&
       memcmp(v.ptr, "hello", 5) == 0, "event_get finds an attribute");
    ok(v.ptr == e.attrs[4].value.u.bytes.ptr, "without copying it");
    is_int(host->event_get(&ev, "nope", &v), 0, "event_get of a missing attribute: 0");
    is_int(host->event_attr_count(&ev), 5, "event_attr_count");
    ok(host->event_attr_at(&ev, 1, &name, &len, &v) == 1 && len == 2 && memcmp(name, "id", 2) == 0,
       "event_attr_at gives attributes in order");
    is_int(host->event_attr_at(&ev, 5, &name, &len, &v), 0, "event_attr_at past the end: 0");
    ok(host->event_data(&ev, &data, &data_len) == 1 && data == e.data.ptr && data_len == 7,
       "event_data hands out the data itself");
    set_text(host, &ev, "subject", VANE_STRING, "x", -EPERM, "a filter's event is read only");
    is_int(host->event_remove(&ev, "subject"), -EPERM, "event_remove on it too");
    event_free(&e);
}

static void test_event_changes(const struct vane_host *host)
{
    struct vane_arena arena = VANE_ARENA_INIT;
    struct vane_value v = {.type = VANE_INTEGER, .integer = 7};
    struct event e, out;
    struct vane_event ev;
    char *buffer = strdup("released");

    make_event(&e);
    plugin_event_wrap(&ev, &e, &arena);
    set_text(host, &ev, "subject", VANE_STRING, "changed", 0, "an attribute changes in place");
    is_int(host->event_set(&ev, "count", &v), 0, "an integer extension is added");
    set_text(host, &ev, "Bad", VANE_STRING, "x", VANE_EINVAL, "upper case is refused");
    set_text(host, &ev, "data", VANE_STRING, "x", VANE_EINVAL, "\"data\" is refused");
    set_text(host, &ev, "xvanusfoo", VANE_STRING, "x", VANE_EINVAL, "a reserved name is refused");
    set_text(host, &ev, "time", VANE_STRING, "now", VANE_EINVAL,
             "time must be a timestamp");
    set_text(host, &ev, "time", VANE_TIMESTAMP, "2026-01-01T00:00:00Z", 0, "a timestamp is");
    set_text(host, &ev, "source", VANE_STRING, "/x", VANE_EINVAL, "source must be a URI-ref");
    is_int(host->event_remove(&ev, "id"), VANE_EINVAL, "a required attribute stays");
    is_int(host->event_remove(&ev, "time"), 0, "an optional one goes");
    is_int(host->event_remove(&ev, "time"), 0, "removing a missing one is no error");
    is_int(host->event_set_data(&ev, buffer, 8, count_release), 0, "data taken with release");
    is_int(releases, 0, "not released yet");
    plugin_event_take(&ev, &arena, &out);
    plugin_event_finish(&ev);
    is_int(releases, 1, "released once the event was taken out");
    is_int(out.attr_count, 6, "the taken event has the attributes set");
    ok(out.has_data && out.data.len == 8 && memcmp(out.data.ptr, "released", 8) == 0,
       "and a copy of the released data");
    is_str(event_get(&out, "subject")->value.u.bytes.ptr, "changed", "the new subject");
    is_int(event_get(&out, "count")->value.u.integer, 7, "the new extension");
    ok(e.attr_count == 5 && memcmp(event_get(&e, "subject")->value.u.bytes.ptr, "hello", 5) == 0,
       "the caller's event is as it was");
    event_free(&e);
    vane_arena_free(&arena);
}

static void test_event_new(const struct vane_host *host)
{
    struct vane_arena arena = VANE_ARENA_INIT;
    struct vane_event *ev = plugin_event_new(NULL);
    struct event out;

    set_text(host, ev, "specversion", VANE_STRING, "1.0", 0, "a new event takes attributes");
    is_int(host->event_set_data(ev, "abc", 3, NULL), 0, "and copied data");
    plugin_event_take(ev, &arena, &out);
    host->event_free(ev);
    ok(out.attr_count == 1 && out.data.len == 3 && memcmp(out.data.ptr, "abc", 3) == 0,
       "taken out of its own arena into the caller's, it outlives the event");
    vane_arena_free(&arena);
}

/* ---- the example plugins, in this process ---------------------------------------------- */

struct loop_fixture {
    uv_loop_t loop;
    struct plugin_registry *registry;
    char *dir;
};

static bool start_registry(struct loop_fixture *f, const char *dir)
{
    char *cache = vane_asprintf("%s/cache", tmpdir);
    struct plugin_registry_options options = {dir, cache};
    int err;

    uv_loop_init(&f->loop);
    err = plugin_registry_start(&f->registry, &f->loop, &options);
    vane_free(cache);
    return err == 0;
}

static void stop_registry(struct loop_fixture *f)
{
    plugin_registry_close(f->registry);
    is_int(harness_loop_close(&f->loop), 0, "the registry closes every handle it opened");
}

static struct vane_instance *create(struct plugin_registry *r, const char *plugin, int kind,
                                    const char *config, struct metrics *m, char **errmsg)
{
    json_t *json = config ? json_loads(config, 0, NULL) : NULL;
    struct vane_instance *inst = NULL;

    *errmsg = NULL;
    plugin_instance_create(&inst, r, plugin, kind, "sub", json, m, errmsg);
    json_decref(json);
    return inst;
}

static void add_severity(struct event *e, const char *severity)
{
    make_event(e);
    if (severity != NULL)
        event_add_string(e, "severity", EVENT_STRING, severity);
}

static int filter_with(struct vane_instance *inst, const char *severity)
{
    char err[256];
    struct event e;
    int rc;

    add_severity(&e, severity);
    rc = plugin_instance_filter(inst, &e, err, sizeof(err));
    event_free(&e);
    return rc;
}

static void test_severity_filter(struct plugin_registry *r)
{
    struct metrics *m = metrics_create();
    struct vane_buf text = VANE_BUF_INIT;
    struct vane_instance *inst;
    struct event e;
    char *errmsg;

    inst = create(r, "filter-severity", VANE_PLUGIN_FILTER, "{\"min\": \"warning\"}", m, &errmsg);
    ok(inst != NULL, "filter-severity starts with min = warning (%s)", errmsg ? errmsg : "");
    if (inst != NULL) {
        is_int(filter_with(inst, "error"), VANE_KEEP, "error is kept");
        is_int(filter_with(inst, "WARNING"), VANE_KEEP, "WARNING is kept (case ignored)");
        is_int(filter_with(inst, "info"), VANE_DROP, "info is dropped");
        is_int(filter_with(inst, NULL), VANE_DROP, "no severity is dropped");
        make_event(&e);
        event_add(&e, "severity", 8, &(struct event_value){.type = EVENT_INTEGER, .u.integer = 6});
        is_int(plugin_instance_filter(inst, &e, NULL, 0), VANE_KEEP,
               "an integer counts as a position in levels");
        event_free(&e);
        metrics_render(m, &text);
        contains(text.data, "vane_plugin_severity_dropped_total{plugin=\"filter-severity\","
                 "instance=\"sub\"} 2", "metric_add counts into the broker's metrics");
        vane_buf_free(&text);
    }
    plugin_instance_destroy(inst);
    vane_free(errmsg);

    inst = create(r, "filter-severity", VANE_PLUGIN_FILTER, "{\"min\": \"loud\"}", m, &errmsg);
    ok(inst == NULL, "a min that is not a level fails init");
    contains(errmsg, "init failed", "the error says init failed");
    contains(errmsg, "option min: \"loud\" is not one of levels", "with what the plugin logged");
    vane_free(errmsg);
    inst = create(r, "filter-severity", VANE_PLUGIN_FILTER, "{}", m, &errmsg);
    contains(errmsg, "option 'min' is required", "a required option left out");
    vane_free(errmsg);
    inst = create(r, "filter-severity", VANE_PLUGIN_TRANSFORM, "{}", m, &errmsg);
    contains(errmsg, "is a filter plugin; expected a transform plugin", "the wrong kind");
    vane_free(errmsg);
    inst = create(r, "no-such", VANE_PLUGIN_FILTER, NULL, m, &errmsg);
    contains(errmsg, "no plugin named 'no-such'", "an unknown plugin");
    vane_free(errmsg);
    metrics_free(m);
}

static void test_uppercase_transform(struct plugin_registry *r)
{
    struct vane_arena arena = VANE_ARENA_INIT;
    struct vane_instance *inst;
    struct event e, *out = NULL;
    char *errmsg, err[256];
    int n;

    inst = create(r, "transform-uppercase", VANE_PLUGIN_TRANSFORM,
                  "{\"attributes\": [\"subject\", \"team\", \"source\"], \"copy_type\": "
                  "\"com.example.copy\"}", NULL, &errmsg);
    ok(inst != NULL, "transform-uppercase starts (%s)", errmsg ? errmsg : "");
    if (inst == NULL)
        return;
    make_event(&e);
    event_add_string(&e, "team", EVENT_STRING, "blue-7");
    n = plugin_instance_transform(inst, &e, &arena, &out, err, sizeof(err));
    is_int(n, 2, "the event and its emitted copy come out (%s)", n < 0 ? err : "");
    if (n == 2) {
        ok(memcmp(event_get(&out[0], "subject")->value.u.bytes.ptr, "HELLO", 5) == 0,
           "subject upper-cased");
        ok(memcmp(event_get(&out[0], "team")->value.u.bytes.ptr, "BLUE-7", 6) == 0,
           "an extension upper-cased");
        ok(memcmp(event_get(&out[0], "source")->value.u.bytes.ptr, "/test", 5) == 0,
           "a URI-reference is not a string: left alone");
        ok(memcmp(event_get(&out[1], "type")->value.u.bytes.ptr, "com.example.copy", 16) == 0,
           "the copy has copy_type");
        ok(memcmp(event_get(&out[1], "id")->value.u.bytes.ptr, "e-1-copy", 8) == 0,
           "and its own id");
        ok(out[1].has_data && out[1].data.len == 7, "and the data");
    }
    ok(memcmp(event_get(&e, "subject")->value.u.bytes.ptr, "hello", 5) == 0,
       "the input event is unchanged");
    event_free(&e);
    vane_arena_free(&arena);
    plugin_instance_destroy(inst);
}

/* The built examples, copied into a folder of their own, through a registry. */
static void test_examples(void)
{
    struct loop_fixture f;
    const char *built = getenv("VANE_PLUGINS_BUILDDIR");
    char *dir = vane_asprintf("%s/examples", tmpdir), *from, *to;
    static const char *const names[] = {"filter-severity.so", "transform-uppercase.so"};

    mkdir(dir, 0755);
    for (size_t i = 0; i < 2; i++) {
        from = vane_asprintf("%s/.libs/%s", built, names[i]);
        to = vane_asprintf("%s/%s", dir, names[i]);
        ok(copy_file(from, to), "the build made %s", from);
        vane_free(from);
        vane_free(to);
    }
    if (!start_registry(&f, dir)) {
        ok(0, "the registry starts");
        vane_free(dir);
        return;
    }
    is_int(plugin_registry_count(f.registry), 2, "both examples loaded");
    test_severity_filter(f.registry);
    test_uppercase_transform(f.registry);
    stop_registry(&f);
    vane_free(dir);
}

/* Replaced while a user holds the old version, then removed, in this process. */
static void test_versions(void)
{
    struct loop_fixture f;
    char *dir = vane_asprintf("%s/versions", tmpdir);
    struct plugin *v1, *v2;

    mkdir(dir, 0755);
    ok(drop("good", NULL, dir, "good.so"), "good.so built");
    if (!start_registry(&f, dir)) {
        ok(0, "the registry starts");
        vane_free(dir);
        return;
    }
    v1 = plugin_acquire(f.registry, "test-good");
    is_str(v1 ? v1->version : NULL, "1.0.0", "version 1 acquired");
    ok(drop("good", "-DGOOD_VERSION='\"2.0.0\"'", dir, "good.so"), "good.so replaced");
    plugin_registry_rescan(f.registry);
    v2 = plugin_acquire(f.registry, "test-good");
    is_str(v2 ? v2->version : NULL, "2.0.0", "a new user gets version 2");
    is_str(v1 ? v1->version : NULL, "1.0.0", "the holder of version 1 keeps it, still loaded");
    ok(v1 && v2 && strcmp(v1->loaded_path, v2->loaded_path) != 0,
       "each version from its own private copy");
    ok(v1 && access(v1->loaded_path, F_OK) == 0, "version 1's copy stays while it is held");
    if (v1 != NULL) {
        char *copy = vane_strdup(v1->loaded_path);

        plugin_release(v1);
        ok(access(copy, F_OK) != 0, "and goes with its last user");
        vane_free(copy);
    }
    unlink(v2 ? v2->file : "");
    plugin_registry_rescan(f.registry);
    ok(plugin_registry_find(f.registry, "test-good") == NULL, "a removed file leaves the list");
    is_str(v2 ? v2->version : NULL, "2.0.0", "its user keeps version 2");
    plugin_release(v2);
    stop_registry(&f);
    vane_free(dir);
}

/* ---- a running vaned ---------------------------------------------------------------- */

static json_t *get_json(const struct vaned *v, const char *path, long *status)
{
    char *url = vane_asprintf("%s%s", v->url, path);
    struct http_reply reply;
    json_t *json = NULL;

    http_request("GET", url, NULL, HTTP_1_1, &reply);
    *status = reply.status;
    if (reply.body != NULL)
        json = json_loads(reply.body, 0, NULL);
    http_reply_free(&reply);
    vane_free(url);
    return json;
}

/* The plugin called name in the list, or NULL. */
static const json_t *listed(const json_t *list, const char *name)
{
    const json_t *p;
    size_t i;

    json_array_foreach(json_object_get(list, "plugins"), i, p)
        if (strcmp(json_string_value(json_object_get(p, "name")), name) == 0)
            return p;
    return NULL;
}

/* The reason the file whose name ends with file was refused, or NULL. */
static const char *refusal(const json_t *list, const char *file)
{
    const json_t *r;
    size_t i;

    json_array_foreach(json_object_get(list, "refused"), i, r) {
        const char *path = json_string_value(json_object_get(r, "file"));

        if (strlen(path) >= strlen(file) && strcmp(path + strlen(path) - strlen(file), file) == 0)
            return json_string_value(json_object_get(r, "reason"));
    }
    return NULL;
}

/* Polls GET /api/v1/plugins until test(list, arg) or 5 s (scaled); returns the last list. */
static json_t *wait_list(const struct vaned *v, bool (*test)(const json_t *, const void *),
                         const void *arg)
{
    uint64_t deadline = uv_hrtime() + (uint64_t)harness_ms(5000) * 1000000;
    struct timespec pause = {0, 50 * 1000 * 1000};
    json_t *list = NULL;
    long status;

    for (;;) {
        json_decref(list);
        list = get_json(v, "/api/v1/plugins", &status);
        if ((list != NULL && test(list, arg)) || uv_hrtime() > deadline)
            return list;
        nanosleep(&pause, NULL);
    }
}

struct expect_version {
    const char *name, *version;
};

static bool has_version(const json_t *list, const void *arg)
{
    const struct expect_version *want = arg;
    const json_t *p = listed(list, want->name);

    return p != NULL && strcmp(json_string_value(json_object_get(p, "version")), want->version) == 0;
}

static bool is_refused(const json_t *list, const void *file)
{
    return refusal(list, file) != NULL;
}

static bool no_file(const json_t *list, const void *file)
{
    const json_t *p;
    size_t i;

    json_array_foreach(json_object_get(list, "plugins"), i, p) {
        const char *path = json_string_value(json_object_get(p, "file"));

        if (strstr(path, file) != NULL)
            return false;
    }
    return true;
}

static void expect_refusal(const struct vaned *v, const char *dir, const char *source,
                           const char *want)
{
    char *name = vane_asprintf("%s.so", source);
    json_t *list;

    ok(drop(source, NULL, dir, name), "%s built and dropped in", name);
    list = wait_list(v, is_refused, name);
    contains(refusal(list, name), want, "%s is refused with the reason", name);
    json_decref(list);
    vane_free(name);
}

static void check_still_serving(const struct vaned *v)
{
    long status;
    json_t *health = get_json(v, "/healthz", &status);

    is_int(status, 200, "vaned still serves");
    json_decref(health);
}

static void check_info(const struct vaned *v)
{
    long status;
    json_t *info = get_json(v, "/api/v1/plugins/test-good", &status);
    const json_t *options = json_object_get(info, "options");

    is_int(status, 200, "GET /api/v1/plugins/test-good");
    is_str(json_string_value(json_object_get(info, "kind")), "filter", "its kind");
    is_str(json_string_value(json_object_get(info, "abi")), "1.0", "its ABI");
    contains(json_string_value(json_object_get(info, "file")), "/good.so", "its file");
    is_int(json_array_size(options), 4, "its four options");
    is_int(json_integer_value(json_object_get(json_array_get(options, 0), "default")), 1,
           "min's default");
    is_str(json_string_value(json_object_get(json_array_get(options, 0), "doc")),
           "The least level kept.", "min's doc");
    ok(json_object_get(json_array_get(options, 1), "default") == NULL,
       "the secret option's default is not shown");
    ok(json_is_true(json_object_get(json_array_get(options, 3), "required")),
       "a required option says so");
    json_decref(info);
    info = get_json(v, "/api/v1/plugins/nope", &status);
    is_int(status, 404, "an unknown plugin: 404");
    json_decref(info);
    info = get_json(v, "/api/v1/plugins/a%20b", &status);
    is_int(status, 400, "a name that cannot be one: 400");
    json_decref(info);
    info = get_json(v, "/api/v1/plugins/test-good/x", &status);
    is_int(status, 404, "a path below a plugin: 404");
    json_decref(info);
}

static void check_vanectl(const struct vaned *v)
{
    const char *list[] = {getenv("VANECTL"), "--endpoint", v->url, "plugin", "list", NULL};
    const char *info[] = {getenv("VANECTL"), "--endpoint", v->url, "plugin", "info", "test-good",
                          NULL};
    const char *missing[] = {getenv("VANECTL"), "--endpoint", v->url, "plugin", "info", "nope",
                             NULL};
    char *out = NULL, *err = NULL;
    int status;

    status = harness_run(list, NULL, &out, &err);
    is_int(WEXITSTATUS(status), 0, "vanectl plugin list");
    contains(out, "NAME", "shows a table");
    contains(out, "test-good", "with the plugin");
    contains(out, "REFUSED", "and the refused files");
    contains(out, "bad-abi.so", "by name");
    vane_free(out), vane_free(err);
    status = harness_run(info, NULL, &out, &err);
    is_int(WEXITSTATUS(status), 0, "vanectl plugin info test-good");
    contains(out, "The least level kept.", "shows each option's doc");
    contains(out, "duration", "and type");
    vane_free(out), vane_free(err);
    status = harness_run(missing, NULL, &out, &err);
    is_int(WEXITSTATUS(status), 3, "vanectl plugin info of an unknown plugin: exit 3");
    contains(err, "no plugin named 'nope'", "saying why");
    vane_free(out), vane_free(err);
}

static void test_daemon(void)
{
    char *dir = vane_asprintf("%s/watched", tmpdir), *data = vane_asprintf("%s/data", tmpdir);
    char *config_text = vane_asprintf("return { plugins = { dirs = '%s' } }\n", dir);
    char *config = harness_write_file(tmpdir, "vaned.lua", config_text);
    const char *args[] = {"--config", config, NULL};
    struct expect_version v1 = {"test-good", "1.0.0"}, v2 = {"test-good", "2.0.0"};
    struct vaned v;
    json_t *list;
    long status;
    char *good;

    mkdir(dir, 0755);
    if (vaned_start(&v, data, args) != 0) {
        ok(0, "vaned starts");
        goto done;
    }
    list = get_json(&v, "/api/v1/plugins", &status);
    ok(status == 200 && json_array_size(json_object_get(list, "plugins")) == 0 &&
       json_array_size(json_object_get(list, "refused")) == 0,
       "an empty folder: no plugins, nothing refused");
    json_decref(list);

    ok(drop("good", NULL, dir, "good.so"), "good.so built and dropped in");
    list = wait_list(&v, has_version, &v1);
    ok(has_version(list, &v1), "test-good 1.0.0 appears without a restart");
    json_decref(list);

    expect_refusal(&v, dir, "bad-magic", "wrong magic 0xdeadbeef");
    expect_refusal(&v, dir, "bad-abi", "built for plugin ABI 99.0; this broker speaks ABI 1.0");
    expect_refusal(&v, dir, "short-struct", "struct_size 16 is smaller than");
    expect_refusal(&v, dir, "no-symbol", "no \"vane_plugin\" symbol");
    expect_refusal(&v, dir, "duplicate", "duplicate name \"test-good\"");
    expect_refusal(&v, dir, "null-filter", "a filter plugin needs a filter callback");
    expect_refusal(&v, dir, "bad-options", "option 'count': default \"many\": expected an integer");
    check_still_serving(&v);
    check_info(&v);
    check_vanectl(&v);

    ok(drop("good", "-DGOOD_VERSION='\"2.0.0\"'", dir, "good.so"), "good.so replaced");
    list = wait_list(&v, has_version, &v2);
    ok(has_version(list, &v2), "the replacement's version 2.0.0 is listed");
    json_decref(list);

    good = vane_asprintf("%s/good.so", dir);
    unlink(good);
    list = wait_list(&v, no_file, "/good.so");
    ok(no_file(list, "/good.so"), "a removed file leaves the list");
    ok(has_version(list, &(struct expect_version){"test-good", "9.9.9"}),
       "and the plugin refused for its name loads in its place");
    json_decref(list);
    vane_free(good);
    check_still_serving(&v);

    kill(v.pid, SIGTERM);
    status = vaned_wait(&v, harness_ms(5000));
    ok(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0, "vaned stops cleanly");
    vaned_cleanup(&v);
done:
    vane_free(config);
    vane_free(config_text);
    vane_free(data);
    vane_free(dir);
}

int main(void)
{
    const struct vane_host *host = plugin_host_in_process();

    tmpdir = harness_tempdir();
    test_option_tables();
    test_option_values();
    test_options_describe();
    test_event_reads(host);
    test_event_changes(host);
    test_event_new(host);
    test_examples();
    test_versions();
    test_daemon();
    harness_rmtree(tmpdir);
    return tap_done();
}

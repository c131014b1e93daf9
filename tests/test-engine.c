/*
 * test-engine.c -- the connector engine with the real vaned, real worker
 * processes and real plugins: a sink plugin built here
 * (tests/plugins/sink-crashy.c) that segfaults on its 100th event, with
 * every event still delivered and vaned serving on; instances scaled from
 * 0 up to max under a backlog and back to 0 when idle; a plugin that never
 * answers replaced after the connector's timeout; a source
 * (connectors/source-http) started by its first request; a worker killed
 * with SIGKILL and restarted; bad specs refused naming the field;
 * connectors kept across a restart of vaned, and made from the config file;
 * and a subscription filtered by a Lua script and a filter plugin built
 * here, transformed by a Lua script into two events each.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "harness.h"
#include "tap.h"

static const char *base; /* vaned's URL: main's v.url, which follows it across restarts */
static char *tmpdir;

/* The connector's status member, or NULL. */
static json_t *status_of(const char *name)
{
    char *path = vane_asprintf("/api/v1/connectors/%s", name);
    long code;
    json_t *conn = api_call(base, "GET", path, NULL, &code), *status;

    vane_free(path);
    status = json_incref(json_object_get(conn, "status"));
    json_decref(conn);
    return status;
}

static json_int_t status_int(const char *name, const char *key)
{
    json_t *status = status_of(name);
    json_int_t v = json_integer_value(json_object_get(status, key));

    json_decref(status);
    return v;
}

/* Polls a status number until it equals want; returns the last value seen. */
static json_int_t wait_status(const char *name, const char *key, json_int_t want, int timeout_ms)
{
    json_int_t v = -1;

    for (int waited = 0; waited < harness_ms(timeout_ms); waited += 50) {
        if ((v = status_int(name, key)) == want)
            break;
        usleep(50 * 1000);
    }
    return v;
}

/* A sink connector named name serving a new subscription of bus "orders". */
static long create_sink(const char *name, const char *options, int max, const char *extra)
{
    char *sub = vane_asprintf("{\"name\":\"%s-sub\",\"eventbus\":\"orders\"}", name);
    char *conn = vane_asprintf("{\"name\":\"%s\",\"plugin\":\"sink-crashy\",\"subscription\":"
                               "\"%s-sub\",\"options\":%s,\"max\":%d%s}",
                               name, name, options, max, extra ? extra : "");
    long status = api_create_sink(base, sub, conn);

    vane_free(sub);
    vane_free(conn);
    return status;
}

/* ---- a crashing sink --------------------------------------------------------- */

static void test_crashing_sink(void)
{
    char *file = vane_asprintf("%s/crash.ids", tmpdir);
    char *options = vane_asprintf("{\"file\":\"%s\",\"crash_at\":100}", file);
    long status;

    is_int(create_sink("crashy", options, 1, NULL), 201, "a sink connector is created");
    ok(api_publish_many(base, "orders", "c", 250), "250 events published");
    is_int(harness_wait_lines(file, "c-", 250, 60000), 250,
           "every event is delivered at least once, though the plugin crashes on every 100th");
    ok(status_int("crashy", "restarts") >= 2, "the crashed instances were counted as restarts");
    {
        json_t *st = status_of("crashy");

        {
            /* A plain build's plugin dies of SIGSEGV; under ASan, whose
             * handler reports the crash, it exits with status 1. */
            const char *why = json_string_value(json_object_get(st, "last_error"));

            ok(why != NULL && (strstr(why, "signal 11") || strstr(why, "exited with status")),
               "the status says how the instance died: %s", why ? why : "(none)");
        }
        json_decref(st);
    }
    json_decref(api_call(base, "GET", "/healthz", NULL, &status));
    is_int(status, 200, "vaned serves on");
    vane_free(options);
    vane_free(file);
}

/* ---- scaling 0 -> max -> 0 ------------------------------------------------------ */

static void test_scaling(void)
{
    char *file = vane_asprintf("%s/scale.ids", tmpdir);
    char *options = vane_asprintf("{\"file\":\"%s\",\"delay_ms\":200}", file);
    json_int_t most = 0;

    /* Deliveries of up to 100 events, each taking 200 ms: one instance takes
     * one delivery at a time (concurrency 2), so a backlog builds. */
    is_int(create_sink("slow", options, 3, ",\"min\":0,\"concurrency\":2,\"idle_timeout\":\"1s\""),
           201, "a slow sink connector with min 0, max 3");
    is_int(status_int("slow", "running"), 0, "no instance runs before there is work");
    ok(api_publish_many(base, "orders", "s", 300), "300 events published");
    for (int waited = 0; waited < harness_ms(30000) && harness_distinct_lines(file, "s-") < 300;
         waited += 50) {
        json_int_t running = status_int("slow", "running");

        most = running > most ? running : most;
        usleep(50 * 1000);
    }
    is_int(harness_distinct_lines(file, "s-"), 300, "every event is delivered");
    is_int(most, 3, "under the backlog, instances grew to max");
    is_int(wait_status("slow", "running", 0, 10000), 0, "idle, they stop, back to min 0");
    vane_free(options);
    vane_free(file);
}

/* ---- a source started by its first request -------------------------------------- */

static void test_source_on_demand(void)
{
    char *url = vane_asprintf("%s/connectors/hook", base);
    const char *headers[] = {"Content-Type: application/json", NULL};
    struct http_call call = {"POST", url, headers, "{\"n\":1}", 7, HTTP_1_1};
    struct http_reply reply;
    long status;
    json_t *events;
    char *dump;

    is_int(api_post(base, "/api/v1/connectors",
                    "{\"name\":\"hook\",\"plugin\":\"source-http\",\"eventbus\":\"orders\","
                    "\"idle_timeout\":\"1s\"}"),
           201, "a source connector with min 0");
    is_int(status_int("hook", "running"), 0, "no instance runs before a request");
    ok(http_call(&call, &reply) == 0, "a request to /connectors/hook is answered");
    is_int(reply.status, 202, "202 once the event is durable");
    events = api_call(base, "GET",
                      "/api/v1/eventbuses/orders/events?eventlog=0&offset=0&limit=1000", NULL,
                      &status);
    dump = json_dumps(events, JSON_COMPACT);
    contains(dump, "\"n\":1", "the event is in the eventbus");
    free(dump);
    is_int(status_int("hook", "running"), 1, "the request started one instance");
    is_int(wait_status("hook", "running", 0, 10000), 0, "idle, it stops again");
    is_int(api_post(base, "/api/v1/connectors",
                    "{\"name\":\"hook\",\"plugin\":\"source-http\",\"eventbus\":\"orders\"}"),
           409, "a second connector of the same name is refused");
    http_reply_free(&reply);
    json_decref(events);
    vane_free(url);
}

/* ---- a hung sink --------------------------------------------------------------- */

static void test_hung_sink(void)
{
    char *file = vane_asprintf("%s/hung.ids", tmpdir);
    char *options = vane_asprintf("{\"file\":\"%s\",\"hang_at\":5}", file);
    json_t *st;

    is_int(create_sink("hung", options, 1, ",\"timeout\":\"1s\""), 201,
           "a sink connector whose plugin never answers its 5th event, timeout 1 s");
    ok(api_publish_many(base, "orders", "h", 20), "20 events published");
    is_int(harness_wait_lines(file, "h-", 20, 30000), 20,
           "every event is delivered: the hung instance was replaced");
    st = status_of("hung");
    ok(json_integer_value(json_object_get(st, "restarts")) >= 1, "the hung instance was killed");
    contains(json_string_value(json_object_get(st, "last_error")), "timeout",
             "the status says it held work over the timeout");
    json_decref(st);
    vane_free(options);
    vane_free(file);
}

/* ---- a worker killed, specs refused, and a restart ---------------------------------- */

static void test_killed_worker(void)
{
    char *file = vane_asprintf("%s/kept.ids", tmpdir);
    char *options = vane_asprintf("{\"file\":\"%s\"}", file);
    json_t *st;
    pid_t pid;

    is_int(create_sink("kept", options, 1, ",\"min\":1"), 201, "a sink connector with min 1");
    is_int(wait_status("kept", "running", 1, 10000), 1, "min 1: an instance runs at once");
    st = status_of("kept");
    pid = (pid_t)json_integer_value(json_object_get(json_array_get(json_object_get(st,
                                                                                    "instances"),
                                                                   0),
                                                    "pid"));
    json_decref(st);
    ok(pid > 0 && kill(pid, SIGKILL) == 0, "its worker process is killed");
    is_int(wait_status("kept", "restarts", 1, 10000), 1, "the engine counts a restart");
    is_int(wait_status("kept", "running", 1, 10000), 1, "and starts a new instance");
    vane_free(options);
    vane_free(file);
}

static void test_refused(void)
{
    static const struct {
        const char *body, *field;
    } cases[] = {
        {"{\"name\":\"x\",\"plugin\":\"nope\",\"eventbus\":\"orders\"}", "plugin"},
        {"{\"name\":\"x\",\"plugin\":\"source-http\"}", "eventbus"},
        {"{\"name\":\"x\",\"plugin\":\"source-http\",\"eventbus\":\"nope\"}", "eventbus"},
        {"{\"name\":\"x\",\"plugin\":\"sink-crashy\",\"subscription\":\"crashy-sub\"}",
         "options.file"},
        {"{\"name\":\"x\",\"plugin\":\"source-http\",\"eventbus\":\"orders\",\"max\":0}", "max"},
        {"{\"name\":\"x\",\"plugin\":\"source-http\",\"eventbus\":\"orders\",\"min\":3,"
         "\"max\":2}", "max"},
        {"{\"name\":\"x\",\"plugin\":\"source-http\",\"eventbus\":\"orders\",\"colour\":1}",
         "colour"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        long status;
        json_t *err = api_call(base, "POST", "/api/v1/connectors", cases[i].body, &status);

        ok(status == 400 || status == 409, "refused: %s", cases[i].body);
        is_str(json_string_value(json_object_get(json_object_get(err, "error"), "field")),
               cases[i].field, "naming the field");
        json_decref(err);
    }
}

/* ---- scripts and plugins in a subscription --------------------------------------------- */

/* Publishes one structured-mode event with an integer extension level. */
static bool publish_level(const char *id, const char *type, int level)
{
    char *body = vane_asprintf("{\"specversion\":\"1.0\",\"id\":\"%s\",\"source\":\"/t\","
                               "\"type\":\"%s\",\"level\":%d,\"data\":{\"n\":1}}",
                               id, type, level);
    const char *const headers[] = {"Content-Type: application/cloudevents+json", NULL};
    long status;

    json_decref(api_call_with(base, "POST", "/gateway/orders", headers, body, &status));
    vane_free(body);
    return status == 200;
}

/*
 * A subscription filtered by a Lua script and by a filter plugin built here
 * (tests/plugins/good.c keeps events whose integer extension level is at
 * least its option min), transformed by a Lua script that fans each event
 * out into two, delivered to a sink connector.
 */
static void test_scripts_and_plugins(void)
{
    char *file = vane_asprintf("%s/external.ids", tmpdir);
    char *sub = vane_asprintf(
        "{\"name\":\"ext-sub\",\"eventbus\":\"orders\",\"filters\":[{\"lua\":\"keep\"},"
        "{\"plugin\":\"test-good\",\"config\":{\"min\":3,\"name\":\"x\"}}],"
        "\"transformer\":{\"lua\":\"twice\"}}");
    char *conn = vane_asprintf("{\"name\":\"ext\",\"plugin\":\"sink-crashy\",\"subscription\":"
                               "\"ext-sub\",\"options\":{\"file\":\"%s\"}}",
                               file);

    is_int(api_post(base, "/api/v1/subscriptions",
                    "{\"name\":\"bad-lua\",\"eventbus\":\"orders\",\"filters\":[{\"lua\":"
                    "\"nope\"}]}"),
           400, "a filter naming a script that is not there is refused");
    is_int(api_post(base, "/api/v1/subscriptions",
                    "{\"name\":\"bad-plugin\",\"eventbus\":\"orders\",\"transformer\":"
                    "{\"plugin\":\"test-good\"}}"),
           400, "a transformer naming a filter plugin is refused");
    is_int(api_post(base, "/api/v1/subscriptions", sub), 201,
           "a subscription with Lua and plugin stages");
    is_int(api_post(base, "/api/v1/connectors", conn), 201, "served by a sink connector");
    ok(publish_level("e-kept", "keep", 5), "an event both filters keep");
    ok(publish_level("e-low", "keep", 1), "an event the plugin drops");
    ok(publish_level("e-other", "other", 9), "an event the script drops");
    is_int(harness_wait_lines(file, "e-kept-", 2, 20000), 2,
           "the kept event arrives twice, fanned out");
    is_int(harness_distinct_lines(file, "e-low"), 0, "the plugin filtered its event");
    is_int(harness_distinct_lines(file, "e-other"), 0, "the script filtered its event");
    vane_free(file);
    vane_free(sub);
    vane_free(conn);
}

int main(void)
{
    struct vaned v;
    char *plugins, *config, *data, *built, *text, *good, *scripts;
    long status;

    tmpdir = harness_tempdir();
    plugins = vane_asprintf("%s/plugins", tmpdir);
    data = vane_asprintf("%s/data", tmpdir);
    built = vane_asprintf("%s/sink-crashy.so", plugins);
    good = vane_asprintf("%s/test-good.so", plugins);
    scripts = vane_asprintf("%s/scripts", tmpdir);
    text = vane_asprintf("return { plugins = { dirs = \"%s:%s\" }, scripts = { dirs = \"%s\" } }\n",
                         plugins, getenv("VANE_CONNECTORS_BUILDDIR"), scripts);
    config = harness_write_file(tmpdir, "vane.lua", text);
    if (mkdir(plugins, 0755) != 0 || mkdir(scripts, 0755) != 0 ||
        !harness_build_plugin("sink-crashy", NULL, built) ||
        !harness_build_plugin("good", NULL, good))
        return tap_skip_all("cannot build the test plugins");
    vane_free(harness_write_file(scripts, "keep.lua",
                                 "function filter(e) return e.type == 'keep' end\n"));
    vane_free(harness_write_file(scripts, "twice.lua",
                                 "function transform(e)\n"
                                 "  local a, b = {}, {}\n"
                                 "  for k, v in pairs(e) do a[k] = v; b[k] = v end\n"
                                 "  a.id = e.id .. '-a'; b.id = e.id .. '-b'\n"
                                 "  return {a, b}\n"
                                 "end\n"));
    base = v.url;
    if (vaned_start_config(&v, data, config) != 0)
        return tap_skip_all("vaned did not start");
    is_int(api_post(base, "/api/v1/eventbuses", "{\"name\":\"orders\"}"), 201, "eventbus orders");
    test_refused();
    test_crashing_sink();
    test_scaling();
    test_source_on_demand();
    test_killed_worker();
    test_hung_sink();
    test_scripts_and_plugins();

    kill(v.pid, SIGTERM);
    is_int(vaned_wait(&v, harness_ms(20000)), 0, "vaned stops cleanly, its workers with it");
    vaned_cleanup(&v);
    /* The config file names one more connector: made at start. */
    vane_free(text);
    text = vane_asprintf("return { plugins = { dirs = \"%s:%s\" }, scripts = { dirs = \"%s\" },\n"
                         "  connectors = { fromfile = { plugin = \"sink-crashy\", subscription = "
                         "\"crashy-sub\", min = 1, options = { file = \"%s/file.ids\" } } } }\n",
                         plugins, getenv("VANE_CONNECTORS_BUILDDIR"), scripts, tmpdir);
    vane_free(config);
    config = harness_write_file(tmpdir, "vane.lua", text);
    if (vaned_start_config(&v, data, config) != 0)
        return tap_skip_all("vaned did not start again");
    json_decref(api_call(base, "GET", "/api/v1/connectors/kept", NULL, &status));
    is_int(status, 200, "connectors are kept across a restart");
    is_int(wait_status("kept", "running", 1, 10000), 1, "and their min instances start again");
    is_int(wait_status("fromfile", "running", 1, 10000), 1,
           "a connector of the config file is made at start");
    kill(v.pid, SIGTERM);
    is_int(vaned_wait(&v, harness_ms(20000)), 0, "vaned stops cleanly again");
    vaned_cleanup(&v);
    vane_free(plugins);
    vane_free(data);
    vane_free(config);
    vane_free(built);
    vane_free(text);
    vane_free(good);
    vane_free(scripts);
    harness_rmtree(tmpdir);
    return tap_done();
}

/*
 * test-connectors.c -- the shipped connectors (connectors/) run by the real
 * vaned's connector engine, in its worker processes: sink-stdout appending
 * a subscription's events to a file; sink-http delivering to the test's
 * HTTP sink (tests/sink-server.c) in binary and Vanus's mode, and a 404
 * becoming a dead letter that says why; source-http receiving JSON and
 * CloudEvents requests at /connectors/{name}, and refusing bad ones; and
 * source-git watching a repository made here with the git command, across a
 * restart of vaned that must neither miss nor repeat an event.  Their own
 * logic, driven without the engine, is tests/test-connector-plugins.c.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "core/alloc.h"
#include "harness.h"
#include "tap.h"

static const char *base; /* vaned's URL: main's v.url, which follows it across restarts */
static char *tmpdir;

/* ---- talking to vaned ---------------------------------------------------------- */

static bool publish(const char *bus, const char *id)
{
    const struct test_event event = {id, "com.example.test", "/test-connectors",
                                     "application/json", "{\"n\":1}"};

    return api_publish(base, bus, &event);
}

/* The events of eventlog 0 of bus, as {"events": [{"event": ...}]}, or NULL. */
static json_t *stored(const char *bus)
{
    char *path = vane_asprintf("/api/v1/eventbuses/%s/events?eventlog=0&offset=0&limit=1000",
                               bus);
    long status;
    json_t *answer = api_call_with(base, "GET", path, NULL, NULL, &status);

    vane_free(path);
    return answer;
}

static size_t stored_count(const char *bus)
{
    json_t *answer = stored(bus);
    size_t n = json_array_size(json_object_get(answer, "events"));

    json_decref(answer);
    return n;
}

/* Polls until bus holds want events or timeout_ms pass; returns how many it holds. */
static size_t wait_stored(const char *bus, size_t want, int timeout_ms)
{
    size_t got = 0;

    for (int waited = 0; waited < harness_ms(timeout_ms); waited += 50) {
        if ((got = stored_count(bus)) >= want)
            break;
        usleep(50 * 1000);
    }
    return got;
}

/* The type of each stored event of bus, then its subject, one per line. */
static char *stored_summary(const char *bus)
{
    json_t *answer = stored(bus), *item;
    char *text = vane_strdup(""), *next;
    size_t i;

    json_array_foreach(json_object_get(answer, "events"), i, item) {
        json_t *e = json_object_get(item, "event");
        const char *type = json_string_value(json_object_get(e, "type"));

        const char *message = json_string_value(json_object_get(json_object_get(e, "data"),
                                                                "message"));

        next = vane_asprintf("%s%s %s\n", text, type != NULL ? type + 13 : "?",
                             message != NULL ? message
                                             : json_string_value(json_object_get(e, "subject")));
        vane_free(text);
        text = next;
    }
    json_decref(answer);
    return text;
}

static long create_bus(const char *name)
{
    char *body = vane_asprintf("{\"name\": \"%s\"}", name);
    long status = api_post(base, "/api/v1/eventbuses", body);

    vane_free(body);
    return status;
}

/* A subscription of bus named after the connector, and the sink connector serving it. */
static long create_sink(const char *name, const char *bus, const char *plugin,
                        const char *options)
{
    char *sub = vane_asprintf("{\"name\": \"%s-sub\", \"eventbus\": \"%s\", \"config\": "
                              "{\"max_retry_attempts\": 0}}", name, bus);
    char *conn = vane_asprintf("{\"name\": \"%s\", \"plugin\": \"%s\", \"subscription\": "
                               "\"%s-sub\", \"options\": %s}", name, plugin, name, options);
    long status = api_create_sink(base, sub, conn);

    vane_free(sub);
    vane_free(conn);
    return status;
}

/* ---- sink-stdout ------------------------------------------------------------------ */

static bool file_has(const char *path, const char *const *needles)
{
    char *text = harness_read_file(path);
    bool all = text != NULL;

    for (size_t i = 0; all && needles[i] != NULL; i++)
        all = strstr(text, needles[i]) != NULL;
    vane_free(text);
    return all;
}

static bool wait_file_has(const char *path, const char *const *needles, int timeout_ms)
{
    for (int waited = 0; waited < harness_ms(timeout_ms); waited += 50) {
        if (file_has(path, needles))
            return true;
        usleep(50 * 1000);
    }
    return false;
}

static void test_sink_stdout(void)
{
    char *file = vane_asprintf("%s/printed.txt", tmpdir);
    char *options = vane_asprintf("{\"file\": \"%s\", \"format\": \"text\"}", file);
    static const char *const lines[] = {"print-1 com.example.test /test-connectors -\n",
                                        "print-2 com.example.test /test-connectors -\n", NULL};

    is_int(create_bus("printed"), 201, "eventbus printed");
    is_int(create_sink("print", "printed", "sink-stdout", options), 201,
           "a sink-stdout connector writing to a file");
    ok(publish("printed", "print-1") && publish("printed", "print-2"), "two events published");
    ok(wait_file_has(file, lines, 10000), "each printed as a line of text");
    vane_free(options);
    vane_free(file);
}

/* ---- sink-http --------------------------------------------------------------------- */

static void test_sink_http_binary(const struct sink *s)
{
    char *url = sink_url(s, "/hook");
    char *options = vane_asprintf("{\"url\": \"%s\", \"headers\": {\"X-Team\": \"ops\"}}", url);
    json_t **lines;
    size_t n;
    long status;
    json_t *dead;
    char *text;

    is_int(create_bus("outbound"), 201, "eventbus outbound");
    is_int(create_sink("deliver", "outbound", "sink-http", options), 201,
           "a sink-http connector");
    ok(publish("outbound", "out-1") && publish("outbound", "out-2"), "two events published");
    is_int(sink_wait_received(s, 2, 10000), 2, "the sink receives both");
    n = sink_received(s, &lines);
    if (n >= 2) {
        /* Not in order: the connector's instance sends its deliveries at once. */
        const char *first = sink_line_header(lines[0], "ce-id");
        const char *second = sink_line_header(lines[1], "ce-id");
        bool both = first && second &&
                    ((strcmp(first, "out-1") == 0 && strcmp(second, "out-2") == 0) ||
                     (strcmp(first, "out-2") == 0 && strcmp(second, "out-1") == 0));

        ok(both, "in binary mode, both events (%s, %s)", first ? first : "-",
           second ? second : "-");
        is_str(sink_line_header(lines[0], "ce-source"), "/test-connectors", "ce-source");
        is_str(sink_line_header(lines[0], "x-team"), "ops", "with the option headers");
    }
    sink_lines_free(lines, n);

    sink_set_mode(s, "{\"status\": 404}");
    ok(publish("outbound", "out-404"), "an event the sink answers 404");
    dead = NULL;
    for (int waited = 0; waited < harness_ms(10000); waited += 100) {
        json_decref(dead);
        dead = api_call_with(base, "GET", "/api/v1/subscriptions/deliver-sub/dead-letters", NULL,
                             NULL, &status);
        if (json_array_size(json_object_get(dead, "events")) > 0)
            break;
        usleep(100 * 1000);
    }
    text = json_dumps(dead, JSON_COMPACT);
    contains(text, "\"id\":\"out-404\"", "is a dead letter");
    contains(text, "HTTP 404: {\\\"status\\\":404}", "saying the sink's answer");
    free(text);
    json_decref(dead);
    sink_set_mode(s, "{}");
    vane_free(options);
    vane_free(url);
}

static void test_sink_http_vanus(const struct sink *s)
{
    char *url = sink_url(s, "/api");
    char *options = vane_asprintf("{\"url\": \"%s\", \"mode\": \"vanus\", \"basic_auth\": "
                                  "\"u:p\"}", url);
    const struct test_event request = {"v-1", "t", "/t", "application/json",
                                       "{\"method\": \"PUT\", \"path\": \"items/7\", "
                                       "\"body\": \"seven\"}"};
    size_t before = sink_received(s, NULL), n;
    json_t **lines;

    is_int(create_bus("vanus"), 201, "eventbus vanus");
    is_int(create_sink("vanus", "vanus", "sink-http", options), 201,
           "a sink-http connector in mode vanus");
    ok(api_publish(base, "vanus", &request), "an event describing a request published");
    is_int(sink_wait_received(s, before + 1, 10000), before + 1, "the request is made");
    n = sink_received(s, &lines);
    if (n > before) {
        is_str(json_string_value(json_object_get(lines[before], "method")), "PUT", "its method");
        is_str(json_string_value(json_object_get(lines[before], "path")), "/api/items/7",
               "its path");
        is_str(sink_line_header(lines[before], "authorization"), "Basic dTpw", "basic_auth");
    }
    sink_lines_free(lines, n);
    vane_free(options);
    vane_free(url);
}

static void test_sink_http(void)
{
    char *record = vane_asprintf("%s/sink.jsonl", tmpdir);
    struct sink s;

    if (sink_start(&s, record) == 0) {
        test_sink_http_binary(&s);
        test_sink_http_vanus(&s);
    }
    is_int(sink_stop(&s), 0, "the sink server exits cleanly");
    vane_free(record);
}

/* ---- source-http -------------------------------------------------------------------- */

static void test_source_http(void)
{
    static const char *const json_headers[] = {"Content-Type: application/json",
                                               "X-Delivery: gh-1", NULL};
    static const char *const ce_headers[] = {"ce-specversion: 1.0", "ce-id: ce-9",
                                             "ce-source: /shop", "ce-type: order.paid",
                                             "Content-Type: application/json", NULL};
    long status;
    json_t *answer;
    char *text;

    is_int(create_bus("webhooks"), 201, "eventbus webhooks");
    is_int(api_post(base, "/api/v1/connectors",
                    "{\"name\": \"hook\", \"plugin\": \"source-http\", \"eventbus\": "
                    "\"webhooks\", \"options\": {\"id_header\": \"x-delivery\"}}"),
           201, "a source-http connector");
    answer = api_call_with(base, "POST", "/connectors/hook/github", json_headers,
                           "{\"action\": \"opened\"}", &status);
    is_int(status, 202, "a JSON request: 202 once stored");
    text = json_dumps(answer, JSON_COMPACT);
    is_str(text, "{\"events\":[{\"id\":\"gh-1\",\"eventlog\":0,\"offset\":0}]}",
           "naming the event and where it is");
    free(text);
    json_decref(answer);
    answer = api_call_with(base, "POST", "/connectors/hook", ce_headers, "{\"paid\": true}",
                           &status);
    is_int(status, 202, "a CloudEvent: 202");
    json_decref(answer);
    answer = stored("webhooks");
    text = json_dumps(answer, JSON_COMPACT);
    contains(text, "\"type\":\"vane.http.request\",\"time\":\"", "the JSON request as an event");
    contains(text, "\"datacontenttype\":\"application/json\",\"httpmethod\":\"POST\","
                   "\"httppath\":\"/github\",\"data\":{\"action\":\"opened\"}",
             "with its method, path and body");
    contains(text, "\"id\":\"ce-9\",\"source\":\"/shop\",\"type\":\"order.paid\"",
             "the CloudEvent as it came");
    free(text);
    json_decref(answer);

    answer = api_call_with(base, "POST", "/connectors/hook", NULL, "{\"broken\": ", &status);
    is_int(status, 400, "a body that is not JSON: 400");
    is_str(json_string_value(json_object_get(json_object_get(answer, "error"), "field")), "body",
           "naming the body");
    json_decref(answer);
    json_decref(api_call_with(base, "GET", "/connectors/hook", NULL, NULL, &status));
    is_int(status, 405, "GET: 405");
    is_int(stored_count("webhooks"), 2, "nothing stored from the refused requests");
}

/* ---- source-git ---------------------------------------------------------------------- */

static void test_source_git_first(const char *repo)
{
    char *options = vane_asprintf("{\"name\": \"git\", \"plugin\": \"source-git\", \"eventbus\": "
                                  "\"commits\", \"min\": 1, \"max\": 1, \"options\": "
                                  "{\"repository\": \"%s\", \"workdir\": \"%s/git-work\", "
                                  "\"from\": \"beginning\", \"interval\": \"200ms\"}}",
                                  repo, tmpdir);
    char *text;

    is_int(create_bus("commits"), 201, "eventbus commits");
    is_int(api_post(base, "/api/v1/connectors", options), 201, "a source-git connector, min 1");
    is_int(wait_stored("commits", 3, 10000), 3, "from the beginning: both commits and main");
    harness_git_commit(repo, "third");
    is_int(wait_stored("commits", 5, 10000), 5, "a new commit, and main moved");
    text = stored_summary("commits");
    is_str(text, "commit first\n\ncommit second\n\nbranch.created main\ncommit third\n\n"
                 "branch.moved main\n",
           "in order");
    vane_free(text);
    vane_free(options);
}

/* The commit id main points to in repo, or NULL. */
static char *head_of(const char *repo)
{
    const char *argv[] = {"/usr/bin/env", "git", "-C", repo, "rev-parse", "main", NULL};
    char *out = NULL;

    if (harness_run(argv, NULL, &out, NULL) != 0) {
        vane_free(out);
        return NULL;
    }
    out[strcspn(out, "\n")] = '\0';
    return out;
}

static void test_source_git_restart(struct vaned *v, const char *data, const char *config,
                                    const char *repo)
{
    char *state = vane_asprintf("%s/git-work/.vane-source-git.json", tmpdir);
    char *head = head_of(repo), *text;
    const char *remembered[] = {head != NULL ? head : "?", NULL};

    /* a stop before the state is saved would (rightly) emit the last poll's events again */
    ok(wait_file_has(state, remembered, 10000), "the state file remembers main's commit");
    kill(v->pid, SIGTERM);
    is_int(vaned_wait(v, harness_ms(20000)), 0, "vaned stops cleanly");
    vaned_cleanup(v);
    harness_git_commit(repo, "fourth, while vaned was down");
    if (vaned_start_config(v, data, config) != 0) {
        ok(false, "vaned starts again");
        goto done;
    }
    is_int(wait_stored("commits", 7, 10000), 7, "after a restart: the commit made meanwhile");
    usleep((useconds_t)harness_ms(1000) * 1000); /* five polls more */
    is_int(stored_count("commits"), 7, "and nothing repeated");
    text = stored_summary("commits");
    contains(text, "branch.moved main\ncommit fourth, while vaned was down\n\nbranch.moved main\n",
             "the commit, then main moved");
    vane_free(text);
done:
    vane_free(head);
    vane_free(state);
}

int main(void)
{
    struct vaned v;
    char *config, *data, *text, *repo;

    tmpdir = harness_tempdir();
    data = vane_asprintf("%s/data", tmpdir);
    repo = vane_asprintf("%s/repo", tmpdir);
    text = vane_asprintf("return { plugins = { dirs = \"%s\" } }\n",
                         getenv("VANE_CONNECTORS_BUILDDIR"));
    config = harness_write_file(tmpdir, "vane.lua", text);
    mkdir(repo, 0755);
    if (!harness_git(repo, (const char *const[]){"init", "-q", "-b", "main", NULL}) ||
        !harness_git_commit(repo, "first") || !harness_git_commit(repo, "second"))
        return tap_skip_all("the git command cannot make a repository");
    base = v.url;
    if (vaned_start_config(&v, data, config) != 0)
        return tap_skip_all("vaned did not start");
    test_sink_stdout();
    test_sink_http();
    test_source_http();
    test_source_git_first(repo);
    test_source_git_restart(&v, data, config, repo);

    kill(v.pid, SIGTERM);
    is_int(vaned_wait(&v, harness_ms(20000)), 0, "vaned stops cleanly, its workers with it");
    vaned_cleanup(&v);
    vane_free(text);
    vane_free(config);
    vane_free(data);
    vane_free(repo);
    harness_rmtree(tmpdir);
    return tap_done();
}

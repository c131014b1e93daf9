/*
 * test-connector-plugins.c -- the shipped connectors (connectors/), each
 * loaded from its built .la by the broker's loader and driven on this
 * program's loop by tests/connector-host.h, against real things: files,
 * the HTTP sink server (tests/sink-server.c), git repositories made with
 * the git command.  The same connectors inside vaned's connector engine
 * are tests/test-connectors.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "connector-host.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "harness.h"
#include "tap.h"

#define SINK_STDOUT "connectors/sink-stdout.la"
#define SINK_HTTP "connectors/sink-http.la"
#define SOURCE_HTTP "connectors/source-http.la"
#define SOURCE_GIT "connectors/source-git.la"

static const char event_json[] =
    "{\"specversion\":\"1.0\",\"id\":\"e-1\",\"source\":\"/orders\",\"type\":\"order.created\","
    "\"subject\":\"o 42\",\"datacontenttype\":\"application/json\",\"tenant\":\"acme\","
    "\"data\":{\"total\":12.5}}";

static bool start(struct chost *h, const char *file, const char *name, const char *options)
{
    char *why = NULL;

    if (chost_start(h, file, name, options, &why) == 0)
        return true;
    tap_diag("%s did not start: %s", file, why);
    free(why);
    return false;
}

/* Delivers event_json to a started sink and waits for the ack. */
static bool deliver(struct chost *h, const char *event, struct chost_delivery *d)
{
    return chost_deliver(h, event, d) == 0 && chost_run_until(h, &d->acked, 10000);
}

/* ---- sink-stdout ---------------------------------------------------------------- */

static void test_sink_stdout(void)
{
    char *dir = harness_tempdir(), *path = vane_asprintf("%s/out.log", dir);
    char *options = vane_asprintf("{\"file\": \"%s\"}", path), *text;
    struct chost h;
    struct chost_delivery d;

    if (start(&h, SINK_STDOUT, "print", options)) {
        ok(deliver(&h, event_json, &d), "sink-stdout acknowledges");
        is_int(d.status, 0, "at once, delivered");
        chost_delivery_free(&d);
        is_int(chost_stop(&h), 0, "the loop closes");
    }
    text = harness_read_file(path);
    is_str(text, "{\"specversion\":\"1.0\",\"id\":\"e-1\",\"source\":\"/orders\",\"type\":"
                 "\"order.created\",\"subject\":\"o 42\",\"datacontenttype\":"
                 "\"application/json\",\"tenant\":\"acme\",\"data\":{\"total\":12.5}}\n",
           "format json: the event as one line of CloudEvents JSON");
    vane_free(text);
    vane_free(options);

    options = vane_asprintf("{\"file\": \"%s\", \"format\": \"text\"}", path);
    if (start(&h, SINK_STDOUT, "print", options)) {
        deliver(&h, event_json, &d);
        chost_delivery_free(&d);
        deliver(&h, "{\"specversion\":\"1.0\",\"id\":\"e-2\",\"source\":\"/s\",\"type\":\"t\"}",
                &d);
        chost_delivery_free(&d);
        chost_stop(&h);
    }
    text = harness_read_file(path);
    contains(text, "}\ne-1 order.created /orders o 42\ne-2 t /s -\n",
             "format text: id type source subject appended, - for no subject");
    vane_free(text);
    vane_free(options);

    ok(chost_start(&h, SINK_STDOUT, "print", "{\"format\": \"yaml\"}", &text) != 0,
       "format yaml is refused");
    contains(text, "option format: expected \"json\" or \"text\"; got \"yaml\"",
             "naming the option and what it takes");
    free(text);
    chost_stop(&h);
    vane_free(path);
    harness_rmtree(dir);
}

/* ---- sink-http ------------------------------------------------------------------ */

static char *line_body(const json_t *line)
{
    size_t len;

    return sink_line_body(line, &len);
}

static void sink_http_modes(const struct sink *s, const char *url)
{
    char *options = vane_asprintf("{\"url\": \"%s\", \"headers\": {\"X-Extra\": \"1\"}, "
                                  "\"basic_auth\": \"user:pass\"}", url);
    struct chost h;
    struct chost_delivery d;
    json_t *req;
    char *body;

    if (!start(&h, SINK_HTTP, "to-sink", options))
        return;
    deliver(&h, event_json, &d);
    is_int(d.status, 0, "binary mode: delivered");
    chost_delivery_free(&d);
    req = sink_last_received(s);
    is_str(json_string_value(json_object_get(req, "method")), "POST", "POST");
    is_str(sink_line_header(req, "ce-id"), "e-1", "ce-id");
    is_str(sink_line_header(req, "ce-subject"), "o%2042", "ce-subject percent-encoded");
    is_str(sink_line_header(req, "ce-tenant"), "acme", "an extension as ce-tenant");
    is_str(sink_line_header(req, "content-type"), "application/json", "datacontenttype");
    is_str(sink_line_header(req, "x-extra"), "1", "the option headers");
    is_str(sink_line_header(req, "authorization"), "Basic dXNlcjpwYXNz", "basic_auth");
    body = line_body(req);
    is_str(body, "{\"total\":12.5}", "the data as the body");
    vane_free(body);
    json_decref(req);
    chost_stop(&h);
    vane_free(options);

    options = vane_asprintf("{\"url\": \"%s\", \"mode\": \"structured\", \"method\": \"PUT\"}",
                            url);
    if (!start(&h, SINK_HTTP, "to-sink", options))
        return;
    ok(deliver(&h, event_json, &d) && d.status == 0, "structured mode: delivered");
    chost_delivery_free(&d);
    req = sink_last_received(s);
    is_str(json_string_value(json_object_get(req, "method")), "PUT", "option method");
    is_str(sink_line_header(req, "content-type"), "application/cloudevents+json",
           "application/cloudevents+json");
    body = line_body(req);
    contains(body, "\"id\":\"e-1\"", "the event as JSON");
    contains(body, "\"data\":{\"total\":12.5}", "data as JSON");
    vane_free(body);
    json_decref(req);
    chost_stop(&h);
    vane_free(options);
}

static void sink_http_vanus(const struct sink *s)
{
    char *url = sink_url(s, "/base?y=2");
    char *options = vane_asprintf("{\"url\": \"%s\", \"mode\": \"vanus\", \"headers\": "
                                  "{\"X-Default\": \"d\", \"X-Trace\": \"from option\"}}", url);
    const char *envelope =
        "{\"specversion\":\"1.0\",\"id\":\"v-1\",\"source\":\"/s\",\"type\":\"t\","
        "\"datacontenttype\":\"application/json\",\"data\":{\"method\":\"PATCH\",\"path\":"
        "\"a/../b/c\",\"query\":\"x=1&y=9\",\"headers\":{\"X-Trace\":\"abc\"},\"body\":{\"k\":[1,"
        "true]}}}";
    struct chost h;
    struct chost_delivery d;
    json_t *req;
    char *body;

    if (!start(&h, SINK_HTTP, "vanus", options))
        goto done;
    ok(deliver(&h, envelope, &d) && d.status == 0, "vanus mode: delivered");
    chost_delivery_free(&d);
    req = sink_last_received(s);
    is_str(json_string_value(json_object_get(req, "method")), "PATCH", "the envelope's method");
    is_str(json_string_value(json_object_get(req, "path")), "/base/b/c?y=2&x=1",
           "path joined, query merged (the url's own y wins)");
    is_str(sink_line_header(req, "x-trace"), "abc", "the envelope's header wins over the option");
    is_str(sink_line_header(req, "x-default"), "d", "the option's other headers");
    is_str(sink_line_header(req, "content-type"), "application/json", "an object body is JSON");
    body = line_body(req);
    is_str(body, "{\"k\":[1,true]}", "the body");
    vane_free(body);
    json_decref(req);

    deliver(&h, "{\"specversion\":\"1.0\",\"id\":\"v-2\",\"source\":\"/s\",\"type\":\"t\","
                "\"datacontenttype\":\"application/json\",\"data\":{\"body\":\"plain\"}}", &d);
    req = sink_last_received(s);
    is_str(json_string_value(json_object_get(req, "method")), "POST", "no method: the option's");
    is_str(sink_line_header(req, "content-type"), NULL, "a string body has no Content-Type");
    body = line_body(req);
    is_str(body, "plain", "and is sent as its text");
    vane_free(body);
    json_decref(req);
    chost_delivery_free(&d);

    deliver(&h, "{\"specversion\":\"1.0\",\"id\":\"v-3\",\"source\":\"/s\",\"type\":\"t\","
                "\"datacontenttype\":\"text/plain\",\"data\":\"not json\"}", &d);
    is_int(d.status, VANE_EINVAL, "data that is not the envelope: a dead letter");
    contains(d.message, "data: expected a JSON object {method, path, query, headers, body}",
             "saying what was expected");
    chost_delivery_free(&d);
    deliver(&h, "{\"specversion\":\"1.0\",\"id\":\"v-4\",\"source\":\"/s\",\"type\":\"t\","
                "\"datacontenttype\":\"application/json\",\"data\":{\"headers\":{\"X\":1}}}", &d);
    is_int(d.status, VANE_EINVAL, "a header that is not a string: a dead letter");
    contains(d.message, "data.headers.X: expected", "naming it");
    chost_delivery_free(&d);
    chost_stop(&h);
done:
    vane_free(options);
    vane_free(url);
}

/* Delivers once with the sink in mode; returns the ack's status (message in *message). */
static int answer_status(const struct sink *s, const char *mode, const char *options,
                         char **message)
{
    struct chost h;
    struct chost_delivery d = {0};

    sink_set_mode(s, mode);
    if (!start(&h, SINK_HTTP, "answers", options))
        return 1;
    if (!deliver(&h, event_json, &d))
        d.status = 1;
    *message = d.message;
    chost_stop(&h);
    return d.status;
}

static void sink_http_answers(const struct sink *s, const char *url)
{
    char *options = vane_asprintf("{\"url\": \"%s\", \"timeout\": \"300ms\"}", url);
    char *message = NULL;

    is_int(answer_status(s, "{\"status\": 503}", options, &message), VANE_ERETRY, "503: retry");
    contains(message, "HTTP 503", "the answer is the reason");
    vane_free(message);
    is_int(answer_status(s, "{\"status\": 429}", options, &message), VANE_ERETRY, "429: retry");
    vane_free(message);
    is_int(answer_status(s, "{\"status\": 408}", options, &message), VANE_ERETRY, "408: retry");
    vane_free(message);
    is_int(answer_status(s, "{\"status\": 404}", options, &message), VANE_EINVAL,
           "404: a dead letter");
    contains(message, "HTTP 404", "the answer is the reason");
    vane_free(message);
    is_int(answer_status(s, "{\"status\": 204}", options, &message), 0, "204: delivered");
    vane_free(message);
    is_int(answer_status(s, "{\"hang\": true}", options, &message), VANE_ERETRY,
           "no answer within the timeout: retry");
    contains(message, "timed out", "saying it timed out");
    vane_free(message);
    sink_set_mode(s, "{}");
    vane_free(options);

    options = vane_asprintf("{\"url\": \"http://127.0.0.1:1/closed\"}");
    is_int(answer_status(s, "{}", options, &message), VANE_ERETRY, "connection refused: retry");
    vane_free(message);
    vane_free(options);
}

static void sink_http_refused_options(void)
{
    static const char *const bad[][2] = {
        {"{\"url\": \"ftp://example.com/\"}", "option url: expected an http:// or https:// URL"},
        {"{\"url\": \"http://h/\", \"mode\": \"batch\"}", "option mode: expected"},
        {"{\"url\": \"http://h/\", \"method\": \"PO ST\"}", "option method: expected"},
        {"{\"url\": \"http://h/\", \"headers\": {\"X\": 1}}", "option headers: expected"},
        {"{\"url\": \"http://h/\", \"basic_auth\": \"nocolon\"}", "option basic_auth: expected"},
        {"{}", "url"},
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct chost h;
        char *why = NULL;

        ok(chost_start(&h, SINK_HTTP, "bad", bad[i][0], &why) != 0, "refused: %s", bad[i][0]);
        contains(why, bad[i][1], "why");
        free(why);
        chost_stop(&h);
    }
}

static void test_sink_http(void)
{
    char *dir = harness_tempdir(), *record = vane_asprintf("%s/record.jsonl", dir), *url;
    struct sink s;

    if (sink_start(&s, record) == 0) {
        url = sink_url(&s, "/hook");
        sink_http_modes(&s, url);
        sink_http_vanus(&s);
        sink_http_answers(&s, url);
        vane_free(url);
    }
    is_int(sink_stop(&s), 0, "the sink server exits cleanly");
    sink_http_refused_options();
    vane_free(record);
    harness_rmtree(dir);
}

/* ---- source-http ------------------------------------------------------------------- */

static json_t *reply_json(const struct chost *h)
{
    return json_loads(h->reply_body != NULL ? h->reply_body : "", 0, NULL);
}

static void source_http_plain(void)
{
    static const char *const json_ct[] = {"Content-Type: application/json",
                                          "X-GitHub-Delivery: d-77", NULL};
    struct chost h;
    json_t *reply, *event;

    if (!start(&h, SOURCE_HTTP, "hook", "{\"id_header\": \"x-github-delivery\"}"))
        return;
    chost_http(&h, "POST", "/github", json_ct, "{\"action\": \"opened\"}");
    ok(chost_run_until(&h, &h.replied, 5000), "a JSON request is answered");
    is_int(h.reply_status, 202, "202 once the event is durable");
    reply = reply_json(&h);
    is_str(json_string_value(json_object_get(json_array_get(json_object_get(reply, "events"), 0),
                                             "id")),
           "d-77", "naming the event by the id_header's value");
    json_decref(reply);
    is_int(h.emit_count, 1, "one event");
    event = h.emit_count > 0 ? json_loads(h.emitted[0], 0, NULL) : NULL;
    is_str(json_string_value(json_object_get(event, "source")), "/connectors/hook",
           "source /connectors/<name>");
    is_str(json_string_value(json_object_get(event, "type")), "vane.http.request", "the type");
    is_str(json_string_value(json_object_get(event, "httpmethod")), "POST", "httpmethod");
    ok(json_string_length(json_object_get(event, "time")) == 24,
       "time: when it came, in UTC to the millisecond");
    is_str(json_string_value(json_object_get(event, "httppath")), "/github", "httppath");
    is_str(json_string_value(json_object_get(json_object_get(event, "data"), "action")), "opened",
           "the body as data");
    json_decref(event);

    chost_http(&h, "POST", "", (const char *const[]){"Content-Type: application/json", NULL},
               "[1, 2");
    is_int(h.reply_status, 400, "a body that is not JSON: 400");
    contains(h.reply_body, "\"field\":\"body\"", "naming the body");
    contains(h.reply_body, "body: invalid JSON at line 1", "and where it broke");

    chost_http(&h, "POST", "", (const char *const[]){"Content-Type: text/plain", NULL}, "hi");
    is_int(h.reply_status, 415, "non_json reject: 415");
    chost_http(&h, "GET", "", NULL, NULL);
    is_int(h.reply_status, 405, "a method not listed: 405");
    contains(h.reply_headers, "Allow: POST\n", "with Allow");

    h.emit_status = -EIO;
    chost_http(&h, "POST", "", json_ct, "{}");
    chost_run_until(&h, &h.replied, 5000);
    is_int(h.reply_status, 503, "an event not stored: 503");
    contains(h.reply_headers, "Retry-After: 1\n", "with Retry-After: 1");
    is_int(chost_stop(&h), 0, "the loop closes");
}

static void source_http_options(void)
{
    struct chost h;
    json_t *event;
    char *id;

    if (!start(&h, SOURCE_HTTP, "raw", "{\"non_json\": \"bytes\", \"methods\": [\"PUT\", "
                                       "\"POST\"], \"type\": \"com.example.raw\", "
                                       "\"source\": \"https://example.com/raw\"}"))
        return;
    chost_http(&h, "PUT", "", (const char *const[]){"Content-Type: text/plain", NULL}, "hello");
    chost_run_until(&h, &h.replied, 5000);
    is_int(h.reply_status, 202, "non_json bytes: accepted");
    event = h.emit_count > 0 ? json_loads(h.emitted[0], 0, NULL) : NULL;
    is_str(json_string_value(json_object_get(event, "datacontenttype")), "text/plain",
           "with the request's content type");
    is_str(json_string_value(json_object_get(event, "data")), "hello", "and its body");
    is_str(json_string_value(json_object_get(event, "type")), "com.example.raw", "option type");
    is_str(json_string_value(json_object_get(event, "source")), "https://example.com/raw",
           "option source");
    id = vane_strdup(json_string_value(json_object_get(event, "id")));
    ok(strlen(id) == 36 && id[14] == '4', "a UUID v4 id (%s)", id);
    json_decref(event);
    vane_free(id);
    chost_http(&h, "DELETE", "", NULL, NULL);
    contains(h.reply_headers, "Allow: PUT, POST\n", "Allow lists the methods");
    chost_stop(&h);
}

/* ---- source-git -------------------------------------------------------------------- */

static char *make_repo(const char *dir)
{
    char *repo = vane_asprintf("%s/repo", dir);

    mkdir(repo, 0755);
    harness_git(repo, (const char *const[]){"init", "-q", "-b", "main", NULL});
    harness_git_commit(repo, "first");
    harness_git_commit(repo, "second");
    return repo;
}

/* The emitted events' "type subject" (data.branch for commits), one per line. */
static char *summary(const struct chost *h, size_t from)
{
    struct vane_buf out = VANE_BUF_INIT;

    for (size_t i = from; i < h->emit_count; i++) {
        json_t *e = json_loads(h->emitted[i], 0, NULL), *data = json_object_get(e, "data");
        const char *type = json_string_value(json_object_get(e, "type"));

        if (strcmp(type, "com.vane.git.commit") == 0)
            vane_buf_appendf(&out, "commit %s %s\n",
                             json_string_value(json_object_get(data, "message")),
                             json_string_value(json_object_get(data, "branch")));
        else
            vane_buf_appendf(&out, "%s %s\n", type + 13,
                             json_string_value(json_object_get(e, "subject")));
        json_decref(e);
    }
    return out.data != NULL ? vane_buf_detach(&out) : vane_strdup("");
}

struct file_wait {
    uv_timer_t timer;
    const char *path;
    bool found;
};

static void check_file(uv_timer_t *timer)
{
    struct file_wait *w = timer->data;

    w->found = access(w->path, F_OK) == 0;
}

/* Runs the loop until path exists. */
static bool wait_file(struct chost *h, const char *path)
{
    struct file_wait w = {.path = path};

    uv_timer_init(&h->loop, &w.timer);
    w.timer.data = &w;
    uv_timer_start(&w.timer, check_file, 0, 5);
    chost_run_until(h, &w.found, 10000);
    uv_close((uv_handle_t *)&w.timer, NULL);
    uv_run(&h->loop, UV_RUN_NOWAIT);
    return w.found;
}

static void source_git_first_poll(const char *repo, const char *options, const char *state)
{
    struct chost h;
    json_t *e, *data;
    char *text;

    if (!start(&h, SOURCE_GIT, "repo", options))
        return;
    if (!ok(chost_wait_emitted(&h, 3, 10000), "from the beginning: events come")) {
        chost_stop(&h);
        return;
    }
    ok(wait_file(&h, state), "the state is saved once they are durable");
    text = summary(&h, 0);
    is_str(text, "commit first\n main\ncommit second\n main\nbranch.created main\n",
           "every commit oldest first, then the branch");
    vane_free(text);
    e = json_loads(h.emitted[1], 0, NULL);
    data = json_object_get(e, "data");
    is_str(json_string_value(json_object_get(e, "id")),
           json_string_value(json_object_get(data, "id")), "a commit's id is its hash");
    is_str(json_string_value(json_object_get(e, "subject")),
           json_string_value(json_object_get(data, "id")), "and so is its subject");
    is_str(json_string_value(json_object_get(e, "time")), "2026-01-02T03:04:05+01:00",
           "time: the commit time, in its own offset");
    text = vane_asprintf("git:%s", repo);
    is_str(json_string_value(json_object_get(e, "source")), text, "source git:<repository>");
    vane_free(text);
    is_str(json_string_value(json_object_get(json_object_get(data, "author"), "email")),
           "ada@example.com", "the author");
    is_int(json_array_size(json_object_get(data, "parents")), 1, "the parents");
    json_decref(e);
    chost_stop(&h);
}

static void source_git_changes(const char *repo, const char *options)
{
    struct chost h;
    char *text;

    if (!start(&h, SOURCE_GIT, "repo", options))
        return;
    /* a restart finds nothing new: wait for a poll's worth (interval 100ms) */
    chost_wait_emitted(&h, 1, 500);
    is_int(h.emit_count, 0, "a restart repeats nothing");
    harness_git_commit(repo, "third");
    harness_git(repo, (const char *const[]){"tag", "-a", "v1", "-m", "one", NULL});
    harness_git(repo, (const char *const[]){"checkout", "-q", "-b", "feature", NULL});
    harness_git_commit(repo, "fourth");
    ok(chost_wait_emitted(&h, 5, 10000), "new commits, a branch and a tag");
    chost_wait_emitted(&h, 6, 300);
    text = summary(&h, 0);
    is_str(text, "commit third\n main\ncommit fourth\n feature\nbranch.created feature\n"
                 "branch.moved main\ntag.created v1\n",
           "commits of the moved branches, then of the new ones, each once; then branches, "
           "then tags");
    vane_free(text);
    harness_git(repo, (const char *const[]){"tag", "-f", "v1", "feature", NULL});
    ok(chost_wait_emitted(&h, 6, 10000), "a tag moved");
    harness_git(repo, (const char *const[]){"tag", "-d", "v1", NULL});
    ok(chost_wait_emitted(&h, 7, 10000), "a tag deleted");
    text = summary(&h, 5);
    is_str(text, "tag.moved v1\ntag.deleted v1\n", "moved, then deleted");
    vane_free(text);
    if (h.emit_count >= 7) {
        json_t *moved = json_loads(h.emitted[5], 0, NULL);
        json_t *gone = json_loads(h.emitted[6], 0, NULL);
        const char *id = json_string_value(json_object_get(gone, "id"));

        contains(id, "refs/tags/v1@", "a ref event's id names the ref");
        ok(id != NULL && strlen(id) == 13 + 40 + 2 + 40 &&
               strcmp(id + 55, "0000000000000000000000000000000000000000") == 0,
           "then old..new, zeros for none (%s)", id);
        ok(json_is_null(json_object_get(json_object_get(gone, "data"), "new")), "data.new null");
        is_str(json_string_value(json_object_get(json_object_get(moved, "data"), "commit")),
               json_string_value(json_object_get(json_object_get(moved, "data"), "new")),
               "a lightweight tag's commit is its target");
        json_decref(moved);
        json_decref(gone);
    }
    chost_stop(&h);
}

static void source_git_refused(struct chost *h, const char *repo)
{
    char *options = vane_asprintf("{\"repository\": \"%s\", \"from\": \"yesterday\"}", repo);
    char *why = NULL;

    ok(chost_start(h, SOURCE_GIT, "repo", options, &why) != 0, "from yesterday is refused");
    contains(why, "option from: expected \"now\" or \"beginning\"", "naming it");
    free(why);
    chost_stop(h);
    vane_free(options);
}

static void test_source_git(void)
{
    char *dir = harness_tempdir(), *repo = make_repo(dir);
    char *work = vane_asprintf("%s/work", dir), *state = vane_asprintf("%s/.vane-source-git.json",
                                                                       work);
    char *options = vane_asprintf("{\"repository\": \"%s\", \"workdir\": \"%s\", \"from\": "
                                  "\"beginning\", \"interval\": \"100ms\"}", repo, work);
    struct chost h;
    char *text, *url;

    source_git_first_poll(repo, options, state);
    source_git_changes(repo, options);
    vane_free(options);

    /* a fetched remote, from now on, main only */
    url = vane_asprintf("file://%s", repo);
    options = vane_asprintf("{\"repository\": \"%s\", \"workdir\": \"%s/mirror\", \"interval\": "
                            "\"100ms\", \"branches\": [\"ma*\"], \"tags\": false}", url, dir);
    if (start(&h, SOURCE_GIT, "remote", options)) {
        chost_wait_emitted(&h, 1, 500);
        is_int(h.emit_count, 0, "from now: the first poll emits nothing");
        harness_git(repo, (const char *const[]){"checkout", "-q", "main", NULL});
        harness_git_commit(repo, "fifth");
        harness_git(repo, (const char *const[]){"checkout", "-q", "feature", NULL});
        harness_git_commit(repo, "sixth");
        harness_git(repo, (const char *const[]){"tag", "v2", NULL});
        ok(chost_wait_emitted(&h, 2, 10000), "a fetched commit");
        chost_wait_emitted(&h, 3, 300);
        text = summary(&h, 0);
        is_str(text, "commit fifth\n main\nbranch.moved main\n",
               "only the watched branch, no tags");
        vane_free(text);
        text = vane_asprintf("git:%s", url);
        contains(h.emit_count > 0 ? h.emitted[0] : "", text, "source git:<url>");
        vane_free(text);
        harness_git(repo, (const char *const[]){"branch", "maint", "main", NULL});
        ok(chost_wait_emitted(&h, 3, 10000), "a branch fetched");
        harness_git(repo, (const char *const[]){"branch", "-D", "maint", NULL});
        ok(chost_wait_emitted(&h, 4, 10000), "a branch pruned");
        text = summary(&h, 2);
        is_str(text, "branch.created maint\nbranch.deleted maint\n", "come and gone");
        vane_free(text);
        chost_stop(&h);
    }
    source_git_refused(&h, repo);
    vane_free(url);
    vane_free(options);
    vane_free(state);
    vane_free(work);
    vane_free(repo);
    harness_rmtree(dir);
}

static void test_source_git_retry(void)
{
    char *dir = harness_tempdir(), *repo = make_repo(dir);
    char *options = vane_asprintf("{\"repository\": \"%s\", \"workdir\": \"%s/w\", \"from\": "
                                  "\"beginning\", \"interval\": \"100ms\"}", repo, dir);
    struct chost h;
    json_t *first, *again;

    if (start(&h, SOURCE_GIT, "repo", options)) {
        h.emit_status = -EIO;
        ok(chost_wait_emitted(&h, 3, 10000), "events emitted and refused");
        h.emit_status = 0;
        if (!ok(chost_wait_emitted(&h, 6, 10000), "the poll is tried again")) {
            chost_stop(&h);
            goto done;
        }
        first = json_loads(h.emitted[0], 0, NULL);
        again = json_loads(h.emitted[3], 0, NULL);
        chost_wait_emitted(&h, 7, 500);
        is_int(h.emit_count, 6, "and once the events are durable, not again");
        is_str(json_string_value(json_object_get(again, "id")),
               json_string_value(json_object_get(first, "id")),
               "with the same id, so the broker can tell the repeat");
        json_decref(first);
        json_decref(again);
        chost_stop(&h);
    }
done:
    vane_free(options);
    vane_free(repo);
    harness_rmtree(dir);
}

int main(void)
{
    test_sink_stdout();
    test_sink_http();
    source_http_plain();
    source_http_options();
    test_source_git();
    test_source_git_retry();
    return tap_done();
}

/*
 * harness.c -- processes, files, HTTP, vaned's API, the HTTP sink, git and
 * parsed events for the integration tests (see harness.h).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/json_span.h"
#include "event/event_json.h"
#include "harness.h"
#include "store/eventlog.h"
#include "tap.h"

int harness_ms(int ms)
{
    const char *scale = getenv("VANE_TEST_TIME_SCALE");
    int factor = scale ? atoi(scale) : 1;

    return ms * (factor > 0 ? factor : 1);
}

static long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void pause_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

static void on_deadline(uv_timer_t *timer)
{
    *(bool *)timer->data = true;
}

bool harness_loop_until(uv_loop_t *loop, const bool *flag, int timeout_ms)
{
    uv_timer_t timer;
    bool expired = false;

    /* The loop's clock is only updated while it runs: a loop idle for a
     * while would otherwise start the deadline in the past. */
    uv_update_time(loop);
    uv_timer_init(loop, &timer);
    timer.data = &expired;
    uv_timer_start(&timer, on_deadline, (uint64_t)harness_ms(timeout_ms), 0);
    while (!*flag && !expired)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&timer, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return *flag;
}

struct opened {
    bool done;
    int status;
};

static void on_eventlog_ready(struct eventlog *log, int status, void *arg)
{
    struct opened *o = arg;

    (void)log;
    o->done = true;
    o->status = status;
}

struct eventlog *harness_eventlog_open(uv_loop_t *loop, const char *dir,
                                       const struct eventlog_options *options)
{
    struct opened o = {false, 0};
    struct eventlog *log = NULL;
    char *errmsg = NULL;

    if (eventlog_open(&log, loop, dir, options, on_eventlog_ready, &o, &errmsg) != 0) {
        tap_diag("eventlog_open %s: %s", dir, errmsg);
        vane_free(errmsg);
        return NULL;
    }
    if (!harness_loop_until(loop, &o.done, 10000) || o.status != 0) {
        tap_diag("eventlog %s did not become ready (%s, status %d)", dir,
                 o.done ? "done" : "timed out", o.status);
        harness_eventlog_close(loop, log);
        return NULL;
    }
    return log;
}

static void on_eventlog_closed(struct eventlog *log, void *arg)
{
    (void)log;
    *(bool *)arg = true;
}

void harness_eventlog_close(uv_loop_t *loop, struct eventlog *log)
{
    bool closed = false;

    eventlog_close(log, on_eventlog_closed, &closed);
    harness_loop_until(loop, &closed, 10000);
}

static void close_any(uv_handle_t *handle, void *arg)
{
    (void)arg;
    if (!uv_is_closing(handle))
        uv_close(handle, NULL);
}

int harness_loop_close(uv_loop_t *loop)
{
    int rc;

    uv_run(loop, UV_RUN_NOWAIT);
    if ((rc = uv_loop_close(loop)) == UV_EBUSY) {
        tap_diag("handles left open on the loop:");
        uv_print_all_handles(loop, stdout);
        uv_walk(loop, close_any, NULL);
        uv_run(loop, UV_RUN_DEFAULT);
        uv_loop_close(loop);
    }
    return rc;
}

char *harness_tempdir(void)
{
    const char *tmp = getenv("TMPDIR");
    char *path = vane_asprintf("%s/vane-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");

    if (mkdtemp(path) == NULL) {
        tap_diag("mkdtemp %s: %s", path, strerror(errno));
        abort();
    }
    return path;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

void harness_rmtree(char *path)
{
    if (path != NULL)
        nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    vane_free(path);
}

char *harness_write_file(const char *dir, const char *name, const char *text)
{
    char *path = vane_asprintf("%s/%s", dir, name);
    FILE *f = fopen(path, "w");

    if (f == NULL) {
        tap_diag("cannot write %s: %s", path, strerror(errno));
        abort();
    }
    fputs(text, f);
    fclose(f);
    return path;
}

char *harness_read_file(const char *path)
{
    struct vane_buf buf = VANE_BUF_INIT;
    char chunk[4096];
    size_t n;
    FILE *f = fopen(path, "r");

    if (f == NULL)
        return NULL;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        vane_buf_append(&buf, chunk, n);
    fclose(f);
    return vane_buf_detach(&buf);
}

static const char *binary(const char *var)
{
    const char *path = getenv(var);

    if (path == NULL) {
        tap_diag("$%s is not set: run the tests through make check", var);
        abort();
    }
    return path;
}

/* Builds a process's argv: optional valgrind, the binary named by $binary_var, then args. */
static char **process_argv(const char *binary_var, const char *const *args)
{
    static char suppressions[4200];
    const char *valgrind = getenv("VANE_VALGRIND");
    size_t n = 0, i = 0;
    char **argv;

    while (args != NULL && args[n] != NULL)
        n++;
    argv = vane_calloc(n + 9, sizeof(char *));
    if (valgrind != NULL && *valgrind != '\0') {
        snprintf(suppressions, sizeof(suppressions),
                 "--suppressions=%s/tests/valgrind-libraft.supp",
                 getenv("VANE_SRCDIR") ? getenv("VANE_SRCDIR") : ".");
        argv[i++] = (char *)valgrind;
        argv[i++] = "--quiet";
        argv[i++] = "--error-exitcode=99";
        argv[i++] = "--leak-check=full";
        argv[i++] = "--errors-for-leak-kinds=definite";
        argv[i++] = suppressions;
    }
    argv[i++] = (char *)binary(binary_var);
    for (size_t k = 0; k < n; k++)
        argv[i++] = (char *)args[k];
    return argv;
}

/* Starts the binary named by $binary_var with args, its stdout and stderr in v->log_path. */
static int spawn_logged(struct vaned *v, const char *binary_var, const char *const *args)
{
    char **argv = process_argv(binary_var, args);
    char *dir = harness_tempdir();
    int fd;

    memset(v, 0, sizeof(*v));
    v->status = -1;
    v->log_path = vane_asprintf("%s.log", dir);
    harness_rmtree(dir);
    fflush(stdout);
    v->pid = fork();
    if (v->pid == 0) {
        /* A test that crashes must not leave a daemon behind. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        fd = open(v->log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    vane_free(argv);
    return v->pid > 0 ? 0 : -1;
}

int vaned_spawn(struct vaned *v, const char *const *args)
{
    return spawn_logged(v, "VANED", args);
}

/* Finds the address in "listening on http://ADDR," of the start line. */
static bool parse_start_line(struct vaned *v, const char *log)
{
    const char *p = log ? strstr(log, "listening on http://") : NULL;
    size_t n;

    if (p == NULL)
        return false;
    p += strlen("listening on http://");
    n = strcspn(p, ", \n");
    if (n == 0 || n >= sizeof(v->address))
        return false;
    memcpy(v->address, p, n);
    v->address[n] = '\0';
    snprintf(v->url, sizeof(v->url), "http://%s", v->address);
    return true;
}

/*
 * Waits until started(log, arg) holds for the log of the process v, it exits,
 * or 10 s (scaled) pass.  Returns 0, or -1 with the log printed as diagnostics
 * under name.
 */
static int wait_started_for(struct vaned *v, bool (*started)(const char *log, void *arg),
                            void *arg, const char *name, int timeout_ms)
{
    long deadline = now_ms() + harness_ms(timeout_ms);

    while (now_ms() < deadline) {
        char *log = vaned_log(v);
        bool up = log != NULL && started(log, arg);

        vane_free(log);
        if (up)
            return 0;
        if (waitpid(v->pid, &v->status, WNOHANG) == v->pid) {
            v->pid = 0;
            break;
        }
        pause_ms(10);
    }
    {
        char *log = vaned_log(v);

        tap_diag("%s did not start; its log:\n%s", name, log ? log : "(none)");
        vane_free(log);
    }
    return -1;
}

static int wait_started(struct vaned *v, bool (*started)(const char *log, void *arg), void *arg,
                        const char *name)
{
    return wait_started_for(v, started, arg, name, 10000);
}

/* Started, and ready: the store has recovered. */
static bool vaned_started(const char *log, void *arg)
{
    return parse_start_line(arg, log) && strstr(log, " ready: ") != NULL;
}

int vaned_wait_ready(struct vaned *v, int timeout_ms)
{
    return wait_started_for(v, vaned_started, v, "vaned", timeout_ms);
}

int vaned_start(struct vaned *v, const char *data_dir, const char *const *args)
{
    const char *argv[64];
    size_t n = 0;
    bool has_listen = false;

    argv[n++] = "--data-dir";
    argv[n++] = data_dir;
    for (size_t i = 0; args != NULL && args[i] != NULL && n < 60; i++) {
        has_listen |= strcmp(args[i], "--listen") == 0;
        argv[n++] = args[i];
    }
    if (!has_listen) {
        argv[n++] = "--listen";
        argv[n++] = "127.0.0.1:0";
    }
    argv[n] = NULL;
    if (vaned_spawn(v, argv) != 0)
        return -1;
    return wait_started(v, vaned_started, v, "vaned");
}

int vaned_wait(struct vaned *v, int timeout_ms)
{
    long deadline = now_ms() + timeout_ms;
    int status;

    if (v->pid <= 0)
        return v->status;
    while (now_ms() < deadline) {
        if (waitpid(v->pid, &status, WNOHANG) == v->pid) {
            v->pid = 0;
            v->status = status;
            return status;
        }
        pause_ms(5);
    }
    return -1;
}

void vaned_cleanup(struct vaned *v)
{
    if (v->pid > 0) {
        kill(v->pid, SIGKILL);
        waitpid(v->pid, NULL, 0);
        v->pid = 0;
    }
    if (v->log_path != NULL)
        unlink(v->log_path);
    vane_free(v->log_path);
    v->log_path = NULL;
}

char *vaned_log(const struct vaned *v)
{
    return harness_read_file(v->log_path);
}

/* Reads and removes a capture file made by harness_run. */
static char *take_capture(char *path)
{
    char *text = harness_read_file(path);

    unlink(path);
    vane_free(path);
    return text;
}

int harness_run(const char *const *argv, const char *const *env, char **out, char **err)
{
    char *dir = harness_tempdir();
    char *out_path = vane_asprintf("%s.out", dir), *err_path = vane_asprintf("%s.err", dir);
    int status = -1;
    pid_t pid;

    harness_rmtree(dir);
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

        dup2(o, 1);
        dup2(e, 2);
        for (size_t i = 0; env != NULL && env[i] != NULL; i++)
            putenv((char *)env[i]);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    if (pid > 0)
        waitpid(pid, &status, 0);
    if (out != NULL)
        *out = take_capture(out_path);
    else
        unlink(out_path), vane_free(out_path);
    if (err != NULL)
        *err = take_capture(err_path);
    else
        unlink(err_path), vane_free(err_path);
    return status;
}

bool harness_build_plugin(const char *source, const char *flags, const char *out)
{
    char *command = vane_asprintf("%s -shared -fPIC -I'%s/sdk' %s -o '%s' '%s/tests/plugins/%s.c'",
                                  getenv("VANE_CC"), getenv("VANE_SRCDIR"), flags ? flags : "",
                                  out, getenv("VANE_SRCDIR"), source);
    const char *argv[] = {"/bin/sh", "-c", command, NULL};
    char *err = NULL;
    int status = harness_run(argv, NULL, NULL, &err);
    bool built = WIFEXITED(status) && WEXITSTATUS(status) == 0;

    if (!built)
        tap_diag("%s failed: %s", command, err ? err : "");
    vane_free(err);
    vane_free(command);
    return built;
}

/* Lowercases each header name (HTTP/1.1 and HTTP/2 spell them differently). */
static void lowercase_names(char *headers)
{
    for (char *line = headers; line != NULL && *line != '\0';) {
        for (char *c = line; *c != ':' && *c != '\n' && *c != '\0'; c++)
            *c = (char)tolower((unsigned char)*c);
        line = strchr(line, '\n');
        line = line ? line + 1 : NULL;
    }
}

static size_t on_data(char *data, size_t size, size_t count, void *arg)
{
    vane_buf_append(arg, data, size * count);
    return size * count;
}

int http_call(const struct http_call *call, struct http_reply *reply)
{
    struct vane_buf received = VANE_BUF_INIT, headers = VANE_BUF_INIT;
    struct curl_slist *list = NULL;
    CURL *curl = curl_easy_init();
    CURLcode rc;

    memset(reply, 0, sizeof(*reply));
    curl_easy_setopt(curl, CURLOPT_URL, call->url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, call->method);
    if (strcmp(call->method, "HEAD") == 0)
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &received);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_data);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &headers);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)harness_ms(5000));
    curl_easy_setopt(curl, CURLOPT_HTTP_VERSION,
                     call->mode == HTTP_2_PRIOR_KNOWLEDGE ? CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE
                     : call->mode == HTTP_2_UPGRADE       ? CURL_HTTP_VERSION_2_0
                                                          : CURL_HTTP_VERSION_1_1);
    for (size_t i = 0; call->headers != NULL && call->headers[i] != NULL; i++)
        list = curl_slist_append(list, call->headers[i]);
    /* curl would otherwise add a form Content-Type and Expect: 100-continue. */
    list = curl_slist_append(list, "Expect:");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
    if (call->body != NULL) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, call->body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)call->body_len);
    }
    rc = curl_easy_perform(curl);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply->status);
        curl_easy_getinfo(curl, CURLINFO_HTTP_VERSION, &reply->version);
    } else {
        tap_diag("%s %s: %s", call->method, call->url, curl_easy_strerror(rc));
    }
    curl_slist_free_all(list);
    curl_easy_cleanup(curl);
    reply->body = vane_buf_detach(&received);
    reply->headers = vane_buf_detach(&headers);
    lowercase_names(reply->headers);
    return rc == CURLE_OK ? 0 : -1;
}

int http_request(const char *method, const char *url, const char *body, enum http_mode mode,
                 struct http_reply *reply)
{
    struct http_call call = {method, url, NULL, body, body ? strlen(body) : 0, mode};

    return http_call(&call, reply);
}

void http_reply_free(struct http_reply *reply)
{
    vane_free(reply->body);
    vane_free(reply->headers);
    memset(reply, 0, sizeof(*reply));
}

/* ---- vaned's HTTP API ------------------------------------------------------- */

int vaned_start_config(struct vaned *v, const char *data_dir, const char *config)
{
    const char *args[] = {"--config", config, NULL};

    return vaned_start(v, data_dir, args);
}

/* api_call_with(), the answer printed when report is set and its status is 300 or more. */
static json_t *api_request(const char *base, const char *method, const char *path,
                           const char *const *headers, const char *body, long *status,
                           bool report)
{
    static const char *const json_headers[] = {"Content-Type: application/json", NULL};
    char *url = vane_asprintf("%s%s", base, path);
    struct http_call call = {method, url, headers != NULL ? headers : json_headers, body,
                             body != NULL ? strlen(body) : 0, HTTP_1_1};
    struct http_reply reply;
    json_t *parsed = NULL;

    if (http_call(&call, &reply) == 0)
        parsed = json_loads(reply.body != NULL ? reply.body : "", 0, NULL);
    *status = reply.status;
    if (report && *status >= 300)
        tap_diag("%s %s: %ld %s", method, path, reply.status, reply.body ? reply.body : "");
    http_reply_free(&reply);
    vane_free(url);
    return parsed;
}

json_t *api_call_with(const char *base, const char *method, const char *path,
                      const char *const *headers, const char *body, long *status)
{
    return api_request(base, method, path, headers, body, status, false);
}

json_t *api_call(const char *base, const char *method, const char *path, const char *body,
                 long *status)
{
    return api_request(base, method, path, NULL, body, status, true);
}

long api_post(const char *base, const char *path, const char *body)
{
    long status;

    json_decref(api_call(base, "POST", path, body, &status));
    return status;
}

long api_create_sink(const char *base, const char *sub, const char *conn)
{
    long status = api_post(base, "/api/v1/subscriptions", sub);

    return status == 201 ? api_post(base, "/api/v1/connectors", conn) : status;
}

bool api_publish(const char *base, const char *bus, const struct test_event *event)
{
    char *path = vane_asprintf("/gateway/%s", bus);
    char *id = vane_asprintf("ce-id: %s", event->id);
    char *type = vane_asprintf("ce-type: %s", event->type ? event->type : "com.example.t");
    char *source = vane_asprintf("ce-source: %s", event->source ? event->source : "/test");
    char *content_type = vane_asprintf("Content-Type: %s", event->content_type
                                                               ? event->content_type
                                                               : "text/plain");
    const char *headers[] = {"ce-specversion: 1.0", id, source, type, content_type, NULL};
    long status;

    json_decref(api_request(base, "POST", path, headers, event->data ? event->data : event->id,
                            &status, true));
    vane_free(path);
    vane_free(id);
    vane_free(type);
    vane_free(source);
    vane_free(content_type);
    return status == 200;
}

bool api_publish_many(const char *base, const char *bus, const char *prefix, int count)
{
    for (int i = 0; i < count; i++) {
        char id[64];

        snprintf(id, sizeof(id), "%s-%d", prefix, i);
        if (!api_publish(base, bus, &(struct test_event){.id = id}))
            return false;
    }
    return true;
}

json_int_t api_stored_count(const char *base, const char *bus)
{
    char *path = vane_asprintf("/api/v1/eventbuses/%s", bus);
    long status;
    json_t *answer = api_call_with(base, "GET", path, NULL, NULL, &status), *log;
    json_int_t total = -1;
    size_t i;

    if (status == 200 && json_is_array(json_object_get(answer, "eventlogs"))) {
        total = 0;
        json_array_foreach(json_object_get(answer, "eventlogs"), i, log)
            total += json_integer_value(json_object_get(log, "events"));
    }
    json_decref(answer);
    vane_free(path);
    return total;
}

/* ---- waiting ------------------------------------------------------------------ */

size_t harness_wait_count(size_t (*count)(const void *arg), const void *arg, size_t want,
                          int timeout_ms)
{
    long deadline = now_ms() + harness_ms(timeout_ms);
    size_t got;

    while ((got = count(arg)) < want && now_ms() < deadline)
        pause_ms(50);
    return got;
}

size_t harness_distinct_lines(const char *path, const char *prefix)
{
    char *text = harness_read_file(path), *line, *save = NULL;
    json_t *seen = json_object();
    size_t n;

    for (line = text ? strtok_r(text, "\n", &save) : NULL; line != NULL;
         line = strtok_r(NULL, "\n", &save))
        if (strncmp(line, prefix, strlen(prefix)) == 0)
            json_object_set_new(seen, line, json_true());
    n = json_object_size(seen);
    json_decref(seen);
    vane_free(text);
    return n;
}

struct lines_query {
    const char *path, *prefix;
};

static size_t count_lines(const void *arg)
{
    const struct lines_query *q = arg;

    return harness_distinct_lines(q->path, q->prefix);
}

size_t harness_wait_lines(const char *path, const char *prefix, size_t want, int timeout_ms)
{
    struct lines_query q = {path, prefix};

    return harness_wait_count(count_lines, &q, want, timeout_ms);
}

/* ---- git and events ---------------------------------------------------------- */

bool harness_git(const char *repo, const char *const *args)
{
    const char *argv[16] = {"/usr/bin/env", "git", "-C", repo};
    static const char *const env[] = {"GIT_AUTHOR_NAME=Ada", "GIT_AUTHOR_EMAIL=ada@example.com",
                                      "GIT_COMMITTER_NAME=Ada",
                                      "GIT_COMMITTER_EMAIL=ada@example.com",
                                      "GIT_AUTHOR_DATE=2026-01-02T03:04:05+01:00",
                                      "GIT_COMMITTER_DATE=2026-01-02T03:04:05+01:00", NULL};
    char *err = NULL;
    size_t n = 4;
    int status;

    for (size_t i = 0; args[i] != NULL && n < 15; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    status = harness_run(argv, env, NULL, &err);
    if (status != 0)
        tap_diag("git %s: %s", args[0], err);
    vane_free(err);
    return status == 0;
}

bool harness_git_commit(const char *repo, const char *message)
{
    return harness_git(repo,
                       (const char *const[]){"commit", "-q", "--allow-empty", "-m", message, NULL});
}

bool harness_event_parse(const char *text, struct harness_event *p)
{
    struct json_span span = {text, strlen(text)};
    struct event_error err;
    json_error_t jerr;

    memset(p, 0, sizeof(*p));
    p->event = (struct event)EVENT_INIT;
    p->doc = json_loads(text, 0, &jerr);
    if (p->doc == NULL) {
        tap_diag("the test's event does not parse: %s: %s", jerr.text, text);
        return false;
    }
    if (event_from_json(p->doc, span, &p->event, &p->arena, &err) != 0) {
        tap_diag("the test's event is refused: %s", err.message);
        return false;
    }
    return true;
}

void harness_event_free(struct harness_event *p)
{
    event_free(&p->event);
    vane_arena_free(&p->arena);
    json_decref(p->doc);
}

/* ---- the HTTP sink (tests/sink-server.c) -----------------------------------
 *
 * The sink runs as vaned does (spawn_logged, wait_started, vaned_wait,
 * vaned_cleanup); its start lines give both of its ports.
 */

/* Copies the address of the whole line "PREFIX ADDRESS\n" in log into out. */
static bool log_address(const char *log, const char *prefix, char *out, size_t size)
{
    const char *p = strstr(log, prefix);
    size_t n;

    if (p == NULL)
        return false;
    p += strlen(prefix);
    n = strcspn(p, "\n");
    if (p[n] != '\n' || n == 0 || n >= size)
        return false;
    memcpy(out, p, n);
    out[n] = '\0';
    return true;
}

static bool sink_started(const char *log, void *arg)
{
    struct sink *s = arg;
    char control[64];

    if (!log_address(log, "sink listening on ", s->address, sizeof(s->address)) ||
        !log_address(log, "sink control on ", control, sizeof(control)))
        return false;
    snprintf(s->url, sizeof(s->url), "http://%s", s->address);
    snprintf(s->control_url, sizeof(s->control_url), "http://%s", control);
    return true;
}

int sink_start_args(struct sink *s, const char *record_path, const char *const *args)
{
    const char *argv[64];
    size_t n = 0;

    memset(s, 0, sizeof(*s));
    if (record_path != NULL) {
        argv[n++] = "--record";
        argv[n++] = record_path;
        s->record_path = vane_strdup(record_path);
    }
    for (size_t i = 0; args != NULL && args[i] != NULL && n < 62; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    if (spawn_logged(&s->process, "SINK_SERVER", argv) != 0)
        return -1;
    return wait_started(&s->process, sink_started, s, "sink-server");
}

int sink_start(struct sink *s, const char *record_path)
{
    return sink_start_args(s, record_path, NULL);
}

int sink_set_mode(const struct sink *s, const char *json)
{
    char *url = vane_asprintf("%s/_sink/mode", s->control_url);
    const char *const headers[] = {"Content-Type: application/json", NULL};
    struct http_call call = {"POST", url, headers, json, strlen(json), HTTP_1_1};
    struct http_reply reply;
    int rc = http_call(&call, &reply) == 0 && reply.status == 200 ? 0 : -1;

    if (rc != 0)
        tap_diag("sink mode %s: answered %ld %s", json, reply.status,
                 reply.body ? reply.body : "");
    http_reply_free(&reply);
    vane_free(url);
    return rc;
}

char *sink_url(const struct sink *s, const char *path)
{
    return vane_asprintf("%s%s", s->url, path);
}

json_t *sink_stats(const struct sink *s)
{
    char *url = vane_asprintf("%s/_sink/stats", s->control_url);
    struct http_reply reply;
    json_t *stats = NULL;

    if (http_request("GET", url, NULL, HTTP_1_1, &reply) == 0 && reply.status == 200)
        stats = json_loads(reply.body, 0, NULL);
    if (stats == NULL)
        tap_diag("sink stats: answered %ld %s", reply.status, reply.body ? reply.body : "");
    http_reply_free(&reply);
    vane_free(url);
    return stats;
}

/* Only whole lines count: the sink may be writing the next one. */
size_t sink_received(const struct sink *s, json_t ***lines)
{
    char *text = s->record_path ? harness_read_file(s->record_path) : NULL;
    json_t **found = NULL;
    size_t count = 0;

    for (char *line = text, *nl; line != NULL && (nl = strchr(line, '\n')) != NULL;
         line = nl + 1) {
        json_error_t err;
        json_t *obj = json_loadb(line, (size_t)(nl - line), 0, &err);

        if (obj == NULL) {
            tap_diag("sink record %s: line %zu is not JSON: %s", s->record_path, count + 1,
                     err.text);
            continue;
        }
        found = vane_realloc(found, (count + 2) * sizeof(*found));
        found[count++] = obj;
        found[count] = NULL;
    }
    vane_free(text);
    if (lines != NULL)
        *lines = found;
    else
        sink_lines_free(found, count);
    return count;
}

json_t *sink_last_received(const struct sink *s)
{
    json_t **lines, *last = NULL;
    size_t n = sink_received(s, &lines);

    if (n > 0)
        last = json_incref(lines[n - 1]);
    sink_lines_free(lines, n);
    return last;
}

size_t sink_distinct_ids(const struct sink *s, const char *prefix, size_t *total)
{
    json_t **lines = NULL, *seen = json_object();
    size_t n = sink_received(s, &lines), count, carried = 0;

    for (size_t i = 0; i < n; i++) {
        const char *id = sink_line_header(lines[i], "ce-id");

        if (id != NULL && strncmp(id, prefix, strlen(prefix)) == 0) {
            json_object_set_new(seen, id, json_true());
            carried++;
        }
    }
    count = json_object_size(seen);
    json_decref(seen);
    sink_lines_free(lines, n);
    if (total != NULL)
        *total = carried;
    return count;
}

struct ids_query {
    const struct sink *sink;
    const char *prefix;
};

static size_t count_ids(const void *arg)
{
    const struct ids_query *q = arg;

    return sink_distinct_ids(q->sink, q->prefix, NULL);
}

size_t sink_wait_distinct_ids(const struct sink *s, const char *prefix, size_t want,
                              int timeout_ms)
{
    struct ids_query q = {s, prefix};

    return harness_wait_count(count_ids, &q, want, timeout_ms);
}

void sink_lines_free(json_t **lines, size_t count)
{
    for (size_t i = 0; lines != NULL && i < count; i++)
        json_decref(lines[i]);
    vane_free(lines);
}

size_t sink_wait_received(const struct sink *s, size_t count, int timeout_ms)
{
    long deadline = now_ms() + harness_ms(timeout_ms);
    size_t got;

    while ((got = sink_received(s, NULL)) < count && now_ms() < deadline)
        pause_ms(10);
    return got;
}

const char *sink_line_header(const json_t *line, const char *name)
{
    return json_string_value(json_object_get(json_object_get(line, "headers"), name));
}

char *sink_line_body(const json_t *line, size_t *len)
{
    const char *text = json_string_value(json_object_get(line, "body_base64"));
    size_t text_len = text ? strlen(text) : 0, padding = 0;
    unsigned char *bytes;
    int n = 0;

    *len = 0;
    if (text == NULL)
        return NULL;
    bytes = vane_malloc(text_len / 4 * 3 + 1);
    if (text_len > 0 && (n = EVP_DecodeBlock(bytes, (const unsigned char *)text,
                                             (int)text_len)) < 0) {
        tap_diag("sink record: body_base64 is not base64");
        vane_free(bytes);
        return NULL;
    }
    /* EVP_DecodeBlock counts the bytes the padding stands for. */
    while (padding < 2 && padding < text_len && text[text_len - 1 - padding] == '=')
        padding++;
    *len = (size_t)n - padding;
    bytes[*len] = '\0';
    return (char *)bytes;
}

int sink_stop(struct sink *s)
{
    int status = s->process.status;

    if (s->process.pid > 0) {
        kill(s->process.pid, SIGTERM);
        status = vaned_wait(&s->process, harness_ms(5000));
    }
    if (status != 0 && s->process.log_path != NULL) {
        char *log = vaned_log(&s->process);

        tap_diag("the sink %s; its log:\n%s",
                 status == -1 ? "did not stop on SIGTERM" : "did not exit cleanly",
                 log ? log : "(none)");
        vane_free(log);
    }
    vaned_cleanup(&s->process);
    vane_free(s->record_path);
    s->record_path = NULL;
    return status;
}

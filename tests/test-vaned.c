/*
 * test-vaned.c -- the real vaned over real sockets: start line, health and
 * readiness over HTTP/1.1 and HTTP/2, JSON errors, the data directory lock,
 * configuration errors, and a clean stop on SIGTERM and SIGINT within a
 * second even with open connections.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "core/alloc.h"
#include "harness.h"
#include "tap.h"
#include "vane-config.h"

static char *tmpdir;

static bool exited_with(int status, int code)
{
    return status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == code;
}

static void test_version_and_help(void)
{
    const char *version[] = {getenv("VANED"), "--version", NULL};
    const char *help[] = {getenv("VANED"), "--help", NULL};
    const char *bogus[] = {getenv("VANED"), "--bogus", NULL};
    char *out = NULL;
    int status;

    status = harness_run(version, NULL, &out, NULL);
    ok(exited_with(status, 0), "--version exits 0");
    is_str(out, "vaned " PACKAGE_VERSION "\n", "--version prints the version");
    vane_free(out);
    status = harness_run(help, NULL, &out, NULL);
    ok(exited_with(status, 0), "--help exits 0");
    contains(out, "--listen", "--help lists --listen");
    contains(out, "--data-dir", "--help lists --data-dir");
    contains(out, "--config", "--help lists --config");
    vane_free(out);
    status = harness_run(bogus, NULL, NULL, NULL);
    ok(exited_with(status, 2), "an unknown option exits 2");
}

/* GETs path and returns the parsed JSON body (or NULL), checking the status. */
static json_t *get_json(const struct vaned *v, const char *path, enum http_mode mode, long want)
{
    char *url = vane_asprintf("%s%s", v->url, path);
    struct http_reply reply;
    json_t *body = NULL;

    if (http_request("GET", url, NULL, mode, &reply) == 0)
        body = json_loads(reply.body, 0, NULL);
    is_int(reply.status, want, "GET %s answers %ld%s", path, want,
           mode == HTTP_2_PRIOR_KNOWLEDGE ? " over h2c (prior knowledge)"
           : mode == HTTP_2_UPGRADE       ? " over h2c (upgrade)"
                                          : "");
    if (mode != HTTP_1_1)
        is_int(reply.version, CURL_HTTP_VERSION_2_0, "the answer came over HTTP/2");
    http_reply_free(&reply);
    vane_free(url);
    return body;
}

static void test_endpoints(const struct vaned *v)
{
    struct http_reply reply;
    char *url;
    json_t *body;

    body = get_json(v, "/healthz", HTTP_1_1, 200);
    is_str(json_string_value(json_object_get(body, "status")), "ok", "healthz says ok");
    is_str(json_string_value(json_object_get(body, "version")), PACKAGE_VERSION,
           "healthz gives the version");
    json_decref(body);
    body = get_json(v, "/healthz", HTTP_2_PRIOR_KNOWLEDGE, 200);
    is_str(json_string_value(json_object_get(body, "status")), "ok", "healthz over h2c says ok");
    json_decref(body);
    body = get_json(v, "/healthz", HTTP_2_UPGRADE, 200);
    json_decref(body);
    body = get_json(v, "/readyz", HTTP_1_1, 200);
    is_str(json_string_value(json_object_get(body, "status")), "ready", "readyz says ready");
    json_decref(body);

    body = get_json(v, "/no/such/thing", HTTP_1_1, 404);
    is_int(json_integer_value(json_object_get(json_object_get(body, "error"), "status")), 404,
           "an unknown path gets the JSON error shape");
    json_decref(body);

    url = vane_asprintf("%s/healthz", v->url);
    http_request("POST", url, "x", HTTP_1_1, &reply);
    is_int(reply.status, 405, "POST /healthz is 405");
    contains(reply.headers, "allow: GET, HEAD", "with an Allow header");
    contains(reply.body, "method POST is not allowed", "and a message");
    http_reply_free(&reply);
    http_request("HEAD", url, NULL, HTTP_1_1, &reply);
    is_int(reply.status, 200, "HEAD /healthz is 200");
    contains(reply.headers, "content-length:", "with a content length, not chunked");
    http_reply_free(&reply);
    vane_free(url);
}

static void test_lock(const struct vaned *first, const char *data_dir)
{
    char *lock_path = vane_asprintf("%s/LOCK", data_dir);
    char *lock = harness_read_file(lock_path);
    char pid[32];
    struct vaned second;
    char *log;
    int status;

    snprintf(pid, sizeof(pid), "%ld\n", (long)first->pid);
    is_str(lock, pid, "LOCK holds the daemon's pid");
    ok(vaned_start(&second, data_dir, NULL) != 0, "a second vaned on the same data dir does not start");
    status = vaned_wait(&second, harness_ms(5000));
    ok(exited_with(status, 1), "it exits with status 1");
    log = vaned_log(&second);
    contains(log, "is in use by another vaned", "it says the data dir is in use");
    snprintf(pid, sizeof(pid), "pid %ld", (long)first->pid);
    contains(log, pid, "and by which pid");
    vane_free(log);
    vaned_cleanup(&second);
    vane_free(lock);
    vane_free(lock_path);
}

/* Opens a raw TCP connection to v, or returns -1. */
static int connect_to(const struct vaned *v)
{
    struct sockaddr_in addr = {.sin_family = AF_INET};
    const char *colon = strrchr(v->address, ':');
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    addr.sin_port = htons((uint16_t)atoi(colon + 1));
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Stops v with signum while three connections are open: one idle after a
 * request, one with half a request sent, one idle HTTP/2 session; checks the
 * clean, quick exit. */
static void test_stop(struct vaned *v, int signum)
{
    static const char request[] = "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n";
    /* The HTTP/2 connection preface and an empty SETTINGS frame. */
    static const char h2_preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
                                     "\x00\x00\x00\x04\x00\x00\x00\x00\x00";
    int idle = connect_to(v), partial = connect_to(v), h2 = connect_to(v);
    char answer[512];
    char *log;
    int status;

    ok(idle >= 0 && partial >= 0 && h2 >= 0, "three connections are open");
    ok(write(idle, request, sizeof(request) - 1) > 0 && read(idle, answer, sizeof(answer)) > 0,
       "the first was answered and is kept alive");
    ok(write(partial, "GET /healthz HTTP/1.1\r\n", 23) > 0, "the second sent half a request");
    ok(write(h2, h2_preface, sizeof(h2_preface) - 1) > 0 && read(h2, answer, sizeof(answer)) > 0,
       "the third opened an HTTP/2 session");
    kill(v->pid, signum);
    status = vaned_wait(v, harness_ms(1000));
    ok(exited_with(status, 0), "%s: vaned exits 0 within 1 s", strsignal(signum));
    log = vaned_log(v);
    contains(log, "stopped", "it logs that it stopped");
    ok(strstr(log, "did not close") == NULL, "every handle was closed (uv_loop_close returned 0)");
    vane_free(log);
    close(idle);
    close(partial);
    close(h2);
}

static void test_serve_and_stop(void)
{
    char *data_dir = vane_asprintf("%s/var", tmpdir);
    struct vaned v;
    char *log;

    if (!ok(vaned_start(&v, data_dir, NULL) == 0, "vaned starts on a free port")) {
        vaned_cleanup(&v);
        vane_free(data_dir);
        return;
    }
    log = vaned_log(&v);
    contains(log, "vane " PACKAGE_VERSION " listening on http://127.0.0.1:", "start line: version, address");
    contains(log, data_dir, "start line: data dir");
    contains(log, "config (embedded default)", "start line: what config it loaded");
    contains(log, " plugins, ", "start line: what plugins it loaded");
    vane_free(log);

    test_endpoints(&v);
    test_lock(&v, data_dir);
    test_stop(&v, SIGTERM);
    vaned_cleanup(&v);

    ok(vaned_start(&v, data_dir, NULL) == 0, "it starts again on the same data dir");
    kill(v.pid, SIGKILL);
    vaned_wait(&v, harness_ms(5000));
    vaned_cleanup(&v);
    ok(vaned_start(&v, data_dir, NULL) == 0, "and again after kill -9: a stale lock does not block");
    test_stop(&v, SIGINT);
    vaned_cleanup(&v);
    vane_free(data_dir);
}

/* Runs vaned with args and checks it refuses to start, saying want. */
static void refuses(const char *const *args, int code, const char *want, const char *what)
{
    const char *argv[16] = {getenv("VANED")};
    char *err = NULL;
    int status;

    for (size_t i = 0; args[i] != NULL && i < 14; i++)
        argv[i + 1] = args[i];
    status = harness_run(argv, NULL, NULL, &err);
    ok(exited_with(status, code), "%s: exits %d", what, code);
    contains(err, want, "%s: says why", what);
    vane_free(err);
}

static void test_refusals(void)
{
    char *unknown = harness_write_file(tmpdir, "unknown.lua", "return { lsten = '127.0.0.1:0' }\n");
    char *wrong = harness_write_file(tmpdir, "wrong.lua", "return { log = { level = 3 } }\n");
    char *blocker = harness_write_file(tmpdir, "blocker", "a file where the data dir should be");
    const char *unknown_args[] = {"--config", unknown, NULL};
    const char *wrong_args[] = {"--config", wrong, NULL};
    const char *listen_args[] = {"--listen", "nowhere:1", NULL};
    const char *dir_args[] = {"--data-dir", blocker, "--listen", "127.0.0.1:0", NULL};
    const char *stray_args[] = {"extra", NULL};
    char *busy_dir = vane_asprintf("%s/busy", tmpdir), *busy_dir2 = vane_asprintf("%s/busy2", tmpdir);
    struct vaned v;

    refuses(unknown_args, 2, "unknown key 'lsten'", "a config with an unknown key");
    refuses(wrong_args, 2, "key 'log.level': expected a string; got number",
            "a config with a wrong type");
    refuses(listen_args, 2, "--listen: key 'listen'", "a bad --listen");
    refuses(dir_args, 1, "cannot create data dir", "a data dir that is a file");
    refuses(stray_args, 2, "unexpected argument 'extra'", "a stray argument");

    if (vaned_start(&v, busy_dir, NULL) == 0) {
        const char *port_args[] = {"--data-dir", busy_dir2, "--listen", v.address, NULL};

        refuses(port_args, 1, "cannot listen on", "a port already in use");
        kill(v.pid, SIGTERM);
        ok(exited_with(vaned_wait(&v, harness_ms(1000)), 0), "the port holder stops cleanly");
    }
    vaned_cleanup(&v);
    vane_free(unknown);
    vane_free(wrong);
    vane_free(blocker);
    vane_free(busy_dir);
    vane_free(busy_dir2);
}

static void test_check_config(void)
{
    char *file = harness_write_file(tmpdir, "ok.lua", "return { log = { format = 'json' } }\n");
    const char *argv[] = {getenv("VANED"), "--check-config", "--config", file, "--listen",
                          "127.0.0.1:9999", NULL};
    char *out = NULL;

    ok(exited_with(harness_run(argv, NULL, &out, NULL), 0), "--check-config exits 0");
    contains(out, "listen 127.0.0.1:9999", "it shows the override");
    contains(out, "log.format json", "and the file's values");
    vane_free(out);
    vane_free(file);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    tmpdir = harness_tempdir();
    test_version_and_help();
    test_serve_and_stop();
    test_refusals();
    test_check_config();
    harness_rmtree(tmpdir);
    curl_global_cleanup();
    return tap_done();
}

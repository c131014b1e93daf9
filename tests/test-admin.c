/*
 * test-admin.c -- the eventbus admin API and access control against the
 * real vaned: create (with every refusal naming its field), list, show,
 * update (kept across a restart), delete (files removed), the errors of
 * paths and methods; then the bearer token: created once with mode 0600,
 * asked for by /api/v1/ when auth.admin = "required", never by /healthz,
 * and kept by later starts.  auth_create() is also called directly to check
 * which listen addresses count as loopback for auth.admin = "auto".
 * Clients that hang up before their answer leave the operation done and
 * vaned serving (under the sanitizers, also without a use after free).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "config/config.h"
#include "core/alloc.h"
#include "gateway/auth.h"
#include "harness.h"
#include "tap.h"

static char *tmpdir;

/* ---- a JSON client with an optional token -------------------------------- */

struct answer {
    long status; /* 0: no answer */
    json_t *json; /* the body, NULL unless it was JSON */
    char *headers;
};

/* One request; authorization, when not NULL, is the Authorization header's value. */
static struct answer call(const struct vaned *v, const char *method, const char *path,
                          const char *body, const char *authorization)
{
    char *url = vane_asprintf("%s%s", v->url, path);
    char *auth_line = authorization ? vane_asprintf("Authorization: %s", authorization) : NULL;
    const char *headers[] = {"Content-Type: application/json", auth_line, NULL};
    struct http_call request = {method, url, headers, body, body ? strlen(body) : 0, HTTP_1_1};
    struct http_reply reply;
    struct answer a;

    http_call(&request, &reply);
    a.status = reply.status;
    a.json = reply.body != NULL ? json_loads(reply.body, 0, NULL) : NULL;
    a.headers = reply.headers;
    reply.headers = NULL;
    http_reply_free(&reply);
    vane_free(auth_line);
    vane_free(url);
    return a;
}

static void answer_free(struct answer *a)
{
    json_decref(a->json);
    vane_free(a->headers);
}

/* The value of header name (case-insensitive), in a new string, or NULL. */
static char *header(const struct answer *a, const char *name)
{
    size_t len = strlen(name);

    for (const char *line = a->headers; line != NULL && *line != '\0';) {
        const char *end = strstr(line, "\r\n");

        if (end == NULL)
            end = line + strlen(line);
        if ((size_t)(end - line) > len && strncasecmp(line, name, len) == 0 && line[len] == ':')
            return vane_strndup(line + len + 2, (size_t)(end - line) - len - 2);
        line = *end != '\0' ? end + 2 : end;
    }
    return NULL;
}

static const char *error_field(const struct answer *a)
{
    return json_string_value(json_object_get(json_object_get(a->json, "error"), "field"));
}

static const char *str_at(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static json_int_t int_at(const json_t *obj, const char *key)
{
    return json_integer_value(json_object_get(obj, key));
}

/* Sends method path body and checks the status (and the error's field when want_field). */
static void expect(const struct vaned *v, const char *method, const char *path, const char *body,
                   long want, const char *want_field, const char *what)
{
    struct answer a = call(v, method, path, body, NULL);

    is_int(a.status, want, "%s: %s %s answers %ld", what, method, path, want);
    if (want_field != NULL)
        is_str(error_field(&a), want_field, "%s: the error names %s", what, want_field);
    answer_free(&a);
}

/* Polls (at most timeout_ms, scaled) until path no longer exists. */
static bool gone_within(const char *path, int timeout_ms)
{
    struct timespec pause = {0, 20 * 1000 * 1000};
    uint64_t deadline = uv_hrtime() + (uint64_t)harness_ms(timeout_ms) * 1000000;
    struct stat st;

    while (stat(path, &st) == 0) {
        if (uv_hrtime() > deadline)
            return false;
        nanosleep(&pause, NULL);
    }
    return true;
}

/* Sends a raw HTTP/1.1 request and hangs up at once, without reading the answer. */
static void send_and_hang_up(const struct vaned *v, const char *request)
{
    struct sockaddr_in addr;
    const char *colon = strrchr(v->address, ':');
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)atoi(colon + 1));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0)
        ok(write(fd, request, strlen(request)) == (ssize_t)strlen(request), "request sent");
    else
        ok(0, "connect to %s", v->address);
    close(fd);
}

/* Polls (at most timeout_ms, scaled) until GET path answers want. */
static bool answers_within(const struct vaned *v, const char *path, long want, int timeout_ms)
{
    struct timespec pause = {0, 20 * 1000 * 1000};
    uint64_t deadline = uv_hrtime() + (uint64_t)harness_ms(timeout_ms) * 1000000;

    for (;;) {
        struct answer a = call(v, "GET", path, NULL, NULL);
        long status = a.status;

        answer_free(&a);
        if (status == want)
            return true;
        if (uv_hrtime() > deadline)
            return false;
        nanosleep(&pause, NULL);
    }
}

static bool stop(struct vaned *v)
{
    int status;

    kill(v->pid, SIGTERM);
    status = vaned_wait(v, harness_ms(5000));
    return status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* ---- eventbuses ---------------------------------------------------------- */

static bool is_rfc3339_seconds(const char *text)
{
    struct tm tm;
    const char *end;

    if (text == NULL)
        return false;
    end = strptime(text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return end != NULL && *end == '\0';
}

static void test_create(const struct vaned *v)
{
    struct answer a = call(v, "POST", "/api/v1/eventbuses",
                           "{\"name\":\"orders\",\"eventlog_count\":2,\"description\":\"all orders\","
                           "\"retention\":{\"max_age_seconds\":604800,\"max_bytes\":1073741824}}",
                           NULL);
    json_t *logs = json_object_get(a.json, "eventlogs");
    char *location = header(&a, "Location");

    is_int(a.status, 201, "POST /api/v1/eventbuses creates: 201");
    is_str(location, "/api/v1/eventbuses/orders", "with a Location");
    is_str(str_at(a.json, "name"), "orders", "name");
    ok(json_is_integer(json_object_get(a.json, "id")), "id is a number");
    is_int(int_at(a.json, "eventlog_count"), 2, "eventlog_count");
    is_str(str_at(a.json, "description"), "all orders", "description");
    is_int(int_at(json_object_get(a.json, "retention"), "max_age_seconds"), 604800,
           "retention.max_age_seconds");
    is_int(int_at(json_object_get(a.json, "retention"), "max_bytes"), 1073741824,
           "retention.max_bytes");
    ok(is_rfc3339_seconds(str_at(a.json, "created_at")), "created_at is RFC 3339 UTC: %s",
       str_at(a.json, "created_at"));
    is_str(str_at(a.json, "updated_at"), str_at(a.json, "created_at"), "updated_at = created_at");
    is_int(json_array_size(logs), 2, "two eventlogs");
    is_int(int_at(json_array_get(logs, 1), "eventlog"), 1, "numbered from 0");
    is_int(int_at(json_array_get(logs, 0), "next_offset"), 0, "empty: next_offset 0");
    is_int(int_at(json_array_get(logs, 0), "events"), 0, "empty: 0 events");
    ok(json_is_null(json_object_get(json_array_get(logs, 0), "first_time")),
       "empty: first_time is null");
    vane_free(location);
    answer_free(&a);

    a = call(v, "POST", "/api/v1/eventbuses", "{\"name\":\"plain\"}", NULL);
    is_int(a.status, 201, "a name alone is enough");
    is_int(int_at(a.json, "eventlog_count"), 1, "eventlog_count defaults to 1");
    is_str(str_at(a.json, "description"), "", "description defaults to \"\"");
    is_int(int_at(json_object_get(a.json, "retention"), "max_age_seconds"), 0,
           "retention defaults to 0 (unlimited)");
    answer_free(&a);

    a = call(v, "POST", "/api/v1/eventbuses", "{\"name\":\"vanus.style\",\"logs\":3}", NULL);
    is_int(a.status, 201, "Vanus's logs is taken for eventlog_count");
    is_int(int_at(a.json, "eventlog_count"), 3, "eventlog_count from logs");
    answer_free(&a);
}

static void test_create_refusals(const struct vaned *v)
{
    static const struct {
        const char *body, *field, *what;
    } cases[] = {
        {"{\"name\":\"orders\"}", "name", "an existing name (409)"},
        {"{\"eventlog_count\":1}", "name", "no name"},
        {"{\"name\":\"bad name!\"}", "name", "a name with a space and '!'"},
        {"{\"name\":42}", "name", "a name that is a number"},
        {"{\"name\":\"\"}", "name", "an empty name"},
        {"{\"name\":\"..\"}", "name", "the name '..'"},
        {"{\"name\":\"__dl_orders\"}", "name", "a system name"},
        {"{\"name\":\"a%2Fb\"}", "name", "a percent-encoded name"},
        {"{\"name\":\"zero\",\"eventlog_count\":0}", "eventlog_count", "eventlog_count 0"},
        {"{\"name\":\"many\",\"eventlog_count\":65}", "eventlog_count", "eventlog_count 65"},
        {"{\"name\":\"str\",\"eventlog_count\":\"2\"}", "eventlog_count", "eventlog_count as a string"},
        {"{\"name\":\"real\",\"eventlog_count\":1.5}", "eventlog_count", "eventlog_count 1.5"},
        {"{\"name\":\"both\",\"eventlog_count\":2,\"logs\":3}", "logs", "logs disagreeing"},
        {"{\"name\":\"d\",\"description\":5}", "description", "a description that is a number"},
        {"{\"name\":\"r\",\"retention\":7}", "retention", "retention that is a number"},
        {"{\"name\":\"r\",\"retention\":{\"max_age_seconds\":-1}}", "retention.max_age_seconds",
         "a negative max_age_seconds"},
        {"{\"name\":\"r\",\"retention\":{\"max_bytes\":\"1GiB\"}}", "retention.max_bytes",
         "max_bytes as a string"},
        {"{\"name\":\"r\",\"retention\":{\"max_age\":1}}", "retention.max_age",
         "an unknown retention field"},
        {"{\"name\":\"c\",\"color\":\"red\"}", "color", "an unknown field"},
    };
    char long_name[200];
    char *body;
    struct answer a;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        expect(v, "POST", "/api/v1/eventbuses", cases[i].body, i == 0 ? 409 : 400, cases[i].field,
               cases[i].what);
    memset(long_name, 'n', 129);
    long_name[129] = '\0';
    body = vane_asprintf("{\"name\":\"%s\"}", long_name);
    expect(v, "POST", "/api/v1/eventbuses", body, 400, "name", "a 129-character name");
    vane_free(body);
    long_name[128] = '\0';
    body = vane_asprintf("{\"name\":\"%s\"}", long_name);
    expect(v, "POST", "/api/v1/eventbuses", body, 201, NULL, "a 128-character name");
    vane_free(body);

    a = call(v, "POST", "/api/v1/eventbuses", "{\"name\": \"x\",\n  \"eventlog_count\": }", NULL);
    is_int(a.status, 400, "invalid JSON: 400");
    contains(str_at(json_object_get(a.json, "error"), "message"), "line 2, column",
             "the message gives jansson's line and column");
    ok(json_object_get(json_object_get(a.json, "error"), "field") == NULL, "and names no field");
    answer_free(&a);
    expect(v, "POST", "/api/v1/eventbuses", "[\"orders\"]", 400, NULL, "a body that is an array");
    expect(v, "POST", "/api/v1/eventbuses", "", 400, NULL, "an empty body");
}

static json_t *find_bus(const json_t *list, const char *name)
{
    size_t i;
    json_t *bus;

    json_array_foreach(json_object_get(list, "eventbuses"), i, bus)
        if (strcmp(str_at(bus, "name") ? str_at(bus, "name") : "", name) == 0)
            return bus;
    return NULL;
}

/* Publishes one event to orders (binary mode) so its eventlog has figures. */
static void publish_one(const struct vaned *v)
{
    static const char data[] = "{\"total\":3}";
    const char *headers[] = {"ce-specversion: 1.0", "ce-id: admin-1", "ce-source: /test-admin",
                             "ce-type: test.admin", "Content-Type: application/json", NULL};
    char *url = vane_asprintf("%s/gateway/orders", v->url);
    struct http_call request = {"POST", url, headers, data, sizeof(data) - 1, HTTP_1_1};
    struct http_reply reply;

    http_call(&request, &reply);
    is_int(reply.status, 200, "an event published to orders");
    http_reply_free(&reply);
    vane_free(url);
}

static void test_list_and_show(const struct vaned *v)
{
    struct answer a = call(v, "GET", "/api/v1/eventbuses", NULL, NULL);
    json_t *logs, *log;

    is_int(a.status, 200, "GET /api/v1/eventbuses lists");
    ok(find_bus(a.json, "orders") != NULL, "orders is listed");
    ok(find_bus(a.json, "plain") != NULL, "plain is listed");
    is_int(json_array_size(json_object_get(find_bus(a.json, "orders"), "eventlogs")), 2,
           "the list includes eventlogs");
    answer_free(&a);
    expect(v, "HEAD", "/api/v1/eventbuses", NULL, 200, NULL, "HEAD");
    expect(v, "GET", "/api/v1/eventbuses/", NULL, 200, NULL, "a trailing slash");

    publish_one(v);
    a = call(v, "GET", "/api/v1/eventbuses/orders", NULL, NULL);
    is_int(a.status, 200, "GET /api/v1/eventbuses/orders shows it");
    is_str(str_at(a.json, "description"), "all orders", "with its description");
    logs = json_object_get(a.json, "eventlogs");
    is_int(int_at(json_array_get(logs, 0), "events") + int_at(json_array_get(logs, 1), "events"),
           1, "its eventlogs count the event");
    log = int_at(json_array_get(logs, 0), "events") == 1 ? json_array_get(logs, 0)
                                                          : json_array_get(logs, 1);
    is_int(int_at(log, "next_offset"), 1, "next_offset after one event");
    ok(int_at(log, "bytes") > 0, "bytes counted");
    is_int(int_at(log, "segments"), 1, "one segment");
    contains(str_at(log, "first_time"), "Z", "first_time is set");
    ok(str_at(log, "last_time") != NULL, "last_time is set");
    answer_free(&a);

    expect(v, "GET", "/api/v1/eventbuses/nothing", NULL, 404, NULL, "an unknown eventbus");
    expect(v, "GET", "/api/v1/eventbuses/bad%20name", NULL, 400, "name", "a percent-encoded name");
    expect(v, "GET", "/api/v1/eventbuses/bad$name", NULL, 400, "name", "a name with '$'");
    expect(v, "GET", "/api/v1/eventbuses/orders/other", NULL, 404, NULL, "an unknown sub-path");
    expect(v, "GET", "/api/v1/eventbusesx", NULL, 404, NULL, "a longer first segment");
}

static void test_methods(const struct vaned *v)
{
    struct answer a = call(v, "PATCH", "/api/v1/eventbuses", "{}", NULL);
    char *allow = header(&a, "Allow");

    is_int(a.status, 405, "PATCH on the collection: 405");
    is_str(allow, "GET, HEAD, POST", "Allow lists the collection's methods");
    vane_free(allow);
    answer_free(&a);
    a = call(v, "POST", "/api/v1/eventbuses/orders", "{}", NULL);
    allow = header(&a, "Allow");
    is_int(a.status, 405, "POST on an eventbus: 405");
    is_str(allow, "GET, HEAD, PUT, DELETE", "Allow lists an eventbus's methods");
    vane_free(allow);
    answer_free(&a);
}

static void test_update(const struct vaned *v)
{
    struct answer a = call(v, "PUT", "/api/v1/eventbuses/orders",
                           "{\"description\":\"orders, kept an hour\","
                           "\"retention\":{\"max_age_seconds\":3600}}", NULL);

    is_int(a.status, 200, "PUT updates: 200");
    is_str(str_at(a.json, "description"), "orders, kept an hour", "the new description");
    is_int(int_at(json_object_get(a.json, "retention"), "max_age_seconds"), 3600,
           "the new max_age_seconds");
    is_int(int_at(json_object_get(a.json, "retention"), "max_bytes"), 1073741824,
           "max_bytes, left out, is kept");
    is_int(int_at(a.json, "eventlog_count"), 2, "eventlog_count is kept");
    ok(strcmp(str_at(a.json, "updated_at") ? str_at(a.json, "updated_at") : "",
              str_at(a.json, "created_at") ? str_at(a.json, "created_at") : "") >= 0,
       "updated_at is not before created_at");
    answer_free(&a);

    expect(v, "PUT", "/api/v1/eventbuses/orders", "{\"eventlog_count\":3}", 400, "eventlog_count",
           "changing eventlog_count");
    expect(v, "PUT", "/api/v1/eventbuses/orders", "{\"eventlog_count\":2,\"name\":\"orders\"}", 200,
           NULL, "restating eventlog_count and name");
    expect(v, "PUT", "/api/v1/eventbuses/orders", "{\"name\":\"renamed\"}", 400, "name",
           "renaming");
    expect(v, "PUT", "/api/v1/eventbuses/orders", "{\"retention\":{\"max_bytes\":-5}}", 400,
           "retention.max_bytes", "a negative max_bytes");
    expect(v, "PUT", "/api/v1/eventbuses/orders", "{\"description\":", 400, NULL, "invalid JSON");
    expect(v, "PUT", "/api/v1/eventbuses/nothing", "{\"description\":\"x\"}", 404, NULL,
           "an unknown eventbus");
    expect(v, "DELETE", "/api/v1/eventbuses/__dl_orders", NULL, 400, "name",
           "deleting a system eventbus");
}

static void test_delete(const struct vaned *v, const char *data_dir)
{
    struct answer a = call(v, "GET", "/api/v1/eventbuses/plain", NULL, NULL);
    char *dir = vane_asprintf("%s/eventlogs/%lld", data_dir,
                              (long long)int_at(json_array_get(json_object_get(a.json, "eventlogs"),
                                                               0), "id"));
    struct stat st;

    ok(stat(dir, &st) == 0, "plain's eventlog directory exists: %s", dir);
    answer_free(&a);
    a = call(v, "DELETE", "/api/v1/eventbuses/plain", NULL, NULL);
    is_int(a.status, 200, "DELETE: 200");
    is_str(str_at(a.json, "name"), "plain", "names the eventbus");
    ok(json_is_true(json_object_get(a.json, "deleted")), "deleted: true");
    answer_free(&a);
    expect(v, "GET", "/api/v1/eventbuses/plain", NULL, 404, NULL, "after the delete");
    expect(v, "DELETE", "/api/v1/eventbuses/plain", NULL, 404, NULL, "deleting again");
    ok(gone_within(dir, 5000), "its eventlog directory is removed");
    vane_free(dir);
}

/* Clients that hang up before the answer: the operation still happens, vaned goes on. */
static void test_hang_ups(const struct vaned *v)
{
    static const char create[] = "POST /api/v1/eventbuses HTTP/1.1\r\nHost: vane\r\n"
                                 "Content-Length: 37\r\n\r\n"
                                 "{\"name\":\"hung-up\",\"eventlog_count\":4}";
    static const char remove[] = "DELETE /api/v1/eventbuses/hung-up HTTP/1.1\r\nHost: vane\r\n\r\n";

    send_and_hang_up(v, create);
    ok(answers_within(v, "/api/v1/eventbuses/hung-up", 200, 5000),
       "a create whose client hung up is done");
    send_and_hang_up(v, remove);
    ok(answers_within(v, "/api/v1/eventbuses/hung-up", 404, 5000),
       "a delete whose client hung up is done");
    expect(v, "GET", "/healthz", NULL, 200, NULL, "vaned still serves");
}

static void test_restart_keeps(struct vaned *v, const char *data_dir)
{
    struct answer a;

    ok(stop(v), "vaned stops cleanly");
    vaned_cleanup(v);
    if (!ok(vaned_start(v, data_dir, NULL) == 0, "vaned starts again on the same data dir"))
        return;
    a = call(v, "GET", "/api/v1/eventbuses/orders", NULL, NULL);
    is_int(a.status, 200, "orders is still there");
    is_str(str_at(a.json, "description"), "orders, kept an hour", "with the updated description");
    is_int(int_at(json_object_get(a.json, "retention"), "max_age_seconds"), 3600,
           "and the updated retention");
    answer_free(&a);
    expect(v, "GET", "/api/v1/eventbuses/plain", NULL, 404, NULL, "the deleted one stays deleted");
}

static void test_eventbuses(void)
{
    char *data_dir = vane_asprintf("%s/buses", tmpdir);
    struct vaned v;

    if (!ok(vaned_start(&v, data_dir, NULL) == 0, "vaned starts")) {
        vaned_cleanup(&v);
        vane_free(data_dir);
        return;
    }
    test_create(&v);
    test_create_refusals(&v);
    test_list_and_show(&v);
    test_methods(&v);
    test_update(&v);
    test_delete(&v, data_dir);
    test_hang_ups(&v);
    test_restart_keeps(&v, data_dir);
    if (v.pid > 0)
        ok(stop(&v), "vaned stops cleanly at the end");
    vaned_cleanup(&v);
    vane_free(data_dir);
}

/* ---- access control ------------------------------------------------------ */

static char *read_token(const char *data_dir, mode_t *mode)
{
    char *path = vane_asprintf("%s/token", data_dir);
    char *text = harness_read_file(path);
    struct stat st;

    *mode = stat(path, &st) == 0 ? st.st_mode & 07777 : 0;
    if (text != NULL)
        text[strcspn(text, "\n")] = '\0';
    vane_free(path);
    return text;
}

static void test_token_checks(const struct vaned *v, const char *token)
{
    char *bearer = vane_asprintf("Bearer %s", token);
    char *lower = vane_asprintf("bearer   %s ", token);
    char *wrong = vane_strdup(bearer);
    struct answer a = call(v, "GET", "/api/v1/eventbuses", NULL, NULL);
    char *challenge = header(&a, "WWW-Authenticate");

    is_int(a.status, 401, "no token: 401");
    is_str(error_field(&a), "Authorization", "the error names Authorization");
    contains(challenge, "Bearer realm=\"vane\"", "with WWW-Authenticate: Bearer");
    vane_free(challenge);
    answer_free(&a);
    wrong[strlen(wrong) - 1] ^= 1; /* same length, one bit off */
    a = call(v, "GET", "/api/v1/eventbuses", NULL, wrong);
    is_int(a.status, 401, "a wrong token: 401");
    challenge = header(&a, "WWW-Authenticate");
    contains(challenge, "Bearer", "with WWW-Authenticate");
    vane_free(challenge);
    answer_free(&a);
    expect(v, "POST", "/api/v1/eventbuses", "{\"name\":\"sneaky\"}", 401, "Authorization",
           "a create without the token");
    a = call(v, "GET", "/api/v1/eventbuses", NULL, "Basic dXNlcjpwYXNz");
    is_int(a.status, 401, "another scheme: 401");
    answer_free(&a);
    a = call(v, "GET", "/api/v1/eventbuses", NULL, "Bearer");
    is_int(a.status, 401, "a scheme with no token: 401");
    answer_free(&a);
    a = call(v, "GET", "/api/v1/eventbuses", NULL, bearer);
    is_int(a.status, 200, "the right token: 200");
    answer_free(&a);
    a = call(v, "GET", "/api/v1/eventbuses", NULL, lower);
    is_int(a.status, 200, "the scheme in any case, with extra spaces: 200");
    answer_free(&a);
    a = call(v, "GET", "/api/v1/eventbuses/nothing", NULL, NULL);
    is_int(a.status, 401, "the token is asked before a 404");
    answer_free(&a);
    expect(v, "GET", "/healthz", NULL, 200, NULL, "healthz needs no token");
    expect(v, "GET", "/readyz", NULL, 200, NULL, "readyz needs no token");
    vane_free(bearer);
    vane_free(lower);
    vane_free(wrong);
}

static void test_auth_required(void)
{
    char *data_dir = vane_asprintf("%s/auth", tmpdir);
    char *config = harness_write_file(tmpdir, "auth.lua", "return { auth = { admin = \"required\" } }\n");
    const char *args[] = {"--config", config, NULL};
    char *token = NULL, *again = NULL, *log, *line;
    struct vaned v;
    mode_t mode;

    if (!ok(vaned_start(&v, data_dir, args) == 0, "vaned starts with auth.admin = required"))
        goto done;
    token = read_token(data_dir, &mode);
    ok(token != NULL && strlen(token) == 64 && strspn(token, "0123456789abcdef") == 64,
       "the token file holds 64 hex digits: %s", token ? token : "(none)");
    is_int(mode, 0600, "the token file has mode 0600");
    log = vaned_log(&v);
    line = vane_asprintf("admin token written to %s/token: %s", data_dir, token ? token : "?");
    contains(log, line, "the first start logs the token once");
    vane_free(line);
    vane_free(log);
    if (token != NULL)
        test_token_checks(&v, token);
    ok(stop(&v), "vaned stops cleanly");
    vaned_cleanup(&v);

    if (!ok(vaned_start(&v, data_dir, args) == 0, "vaned starts again"))
        goto done;
    again = read_token(data_dir, &mode);
    is_str(again, token, "a second start keeps the token");
    log = vaned_log(&v);
    ok(strstr(log, "admin token written") == NULL, "and does not log it again");
    vane_free(log);
    ok(stop(&v), "vaned stops cleanly");
done:
    vaned_cleanup(&v);
    vane_free(again);
    vane_free(token);
    vane_free(config);
    vane_free(data_dir);
}

/* auth_create() directly: which configurations read or write the token file. */
static bool creates_token(const char *listen, const char *admin, const char *publish)
{
    char *data_dir = harness_tempdir();
    char *path = vane_asprintf("%s/token", data_dir);
    struct config cfg;
    struct auth *auth = NULL;
    char *errmsg = NULL;
    struct stat st;
    bool created;

    config_init(&cfg);
    config_set(&cfg, "listen", listen, &errmsg);
    config_set(&cfg, "data_dir", data_dir, &errmsg);
    config_set(&cfg, "auth.admin", admin, &errmsg);
    config_set(&cfg, "auth.publish", publish, &errmsg);
    is_int(auth_create(&auth, &cfg, &errmsg), 0, "auth_create with listen %s, admin %s, publish %s",
           listen, admin, publish);
    created = stat(path, &st) == 0;
    auth_free(auth);
    vane_free(errmsg);
    config_free(&cfg);
    vane_free(path);
    harness_rmtree(data_dir);
    return created;
}

static void test_auth_modes(void)
{
    char *data_dir = harness_tempdir();
    struct config cfg;
    struct auth *auth = NULL;
    char *errmsg = NULL;

    ok(!creates_token("127.0.0.1:8080", "auto", "none"), "auto on 127.0.0.1: no token");
    ok(!creates_token("127.3.2.1:8080", "auto", "none"), "auto on 127.3.2.1: no token");
    ok(!creates_token("[::1]:8080", "auto", "none"), "auto on [::1]: no token");
    ok(creates_token("0.0.0.0:8080", "auto", "none"), "auto on 0.0.0.0: the token");
    ok(creates_token("[::]:8080", "auto", "none"), "auto on [::]: the token");
    ok(creates_token("127.0.0.1:8080", "required", "none"), "required on loopback: the token");
    ok(!creates_token("0.0.0.0:8080", "none", "none"), "none everywhere: no token");
    ok(creates_token("127.0.0.1:8080", "none", "required"), "publish required: the token");

    config_init(&cfg);
    config_set(&cfg, "data_dir", data_dir, &errmsg);
    config_set(&cfg, "auth.admin", "required", &errmsg);
    vane_free(harness_write_file(data_dir, "token", "  \n"));
    ok(auth_create(&auth, &cfg, &errmsg) != 0, "an empty token file is refused");
    contains(errmsg, "token", "naming the file");
    vane_free(errmsg);
    errmsg = NULL;
    vane_free(harness_write_file(data_dir, "token", "  my-own-token\n"));
    is_int(auth_create(&auth, &cfg, &errmsg), 0, "an operator's own token is read");
    auth_free(auth);
    ok(config_set(&cfg, "auth.admin", "sometimes", &errmsg) != 0, "auth.admin refuses other values");
    contains(errmsg, "auth.admin", "naming the key");
    vane_free(errmsg);
    errmsg = NULL;
    ok(config_set(&cfg, "auth.publish", "auto", &errmsg) != 0, "auth.publish has no auto");
    vane_free(errmsg);
    config_free(&cfg);
    harness_rmtree(data_dir);
}

int main(void)
{
    tmpdir = harness_tempdir();
    test_auth_modes();
    test_eventbuses();
    test_auth_required();
    harness_rmtree(tmpdir);
    return tap_done();
}

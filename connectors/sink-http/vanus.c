/*
 * vanus.c -- sink-http's mode "vanus": the request Vanus's HTTP sink
 * (vanus-connect, connectors/sink-http) makes from an event.
 *
 * The event's data is a JSON object describing the request:
 *
 *     {"method": "PUT", "path": "orders/42", "query": "debug=true",
 *      "headers": {"X-Trace": "abc"}, "body": {"any": "JSON"}}
 *
 * every member optional, as Vanus reads it:
 *   - method: the request's method; the option "method" when absent;
 *   - path: joined to the url's path with one "/" between, "." and ".."
 *     segments resolved and the trailing slash dropped (Go's path.Join);
 *   - query: "k=v&..." pairs added to the url's query, except for the names
 *     the url's query already has (the url's own values win);
 *   - headers: an object of string values; they replace the option
 *     "headers" of the same name, which replace the Content-Type below;
 *   - body: a string is sent as its bytes with no Content-Type; a number or
 *     boolean as its text with Content-Type text/plain; an object or array
 *     as compact JSON with application/json; null or absent: no body.
 *
 * Data that is not such an object makes the event a dead letter: retrying
 * cannot fix it.  Where Vane differs from Vanus: an object body keeps its
 * members' order (Go's encoder sorts them), and a query keeps the pairs'
 * order instead of sorting them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vane/plugin.h>

#include "outgoing.h"

static int fail(struct strbuf *err, const char *message)
{
    strbuf_reset(err);
    strbuf_append_str(err, message);
    return -EINVAL;
}

/* The data as a JSON object, or NULL with err set. */
static json_t *load_envelope(const struct vane_host *host, const struct vane_event *ev,
                             struct strbuf *err)
{
    const char *bytes;
    size_t len;
    json_error_t error;
    json_t *doc;

    if (host->event_data(ev, &bytes, &len) != 1) {
        fail(err, "data: expected a JSON object {method, path, query, headers, body}; the event "
                  "has no data");
        return NULL;
    }
    doc = json_loadb(bytes, len, 0, &error);
    if (doc == NULL) {
        strbuf_reset(err);
        strbuf_appendf(err, "data: expected a JSON object {method, path, query, headers, body}: "
                       "%s at line %d, column %d", error.text, error.line, error.column);
        return NULL;
    }
    return doc;
}

/* Appends the segments of path to segments ('/'-joined), resolving "." and "..". */
static void add_segments(struct strbuf *segments, const char *path)
{
    while (*path != '\0') {
        size_t n = strcspn(path, "/");

        if (n == 2 && memcmp(path, "..", 2) == 0) {
            while (segments->len > 0 && segments->data[segments->len - 1] != '/')
                segments->len--;
            if (segments->len > 0)
                segments->data[--segments->len] = '\0';
        } else if (n > 0 && !(n == 1 && *path == '.')) {
            strbuf_append(segments, "/", 1);
            strbuf_append(segments, path, n);
        }
        path += n + (path[n] == '/');
    }
}

static int join_path(CURLU *url, const char *extra, struct strbuf *err)
{
    struct strbuf joined = STRBUF_INIT;
    char *base = NULL;
    int rc = 0;

    if (curl_url_get(url, CURLUPART_PATH, &base, CURLU_URLDECODE) != CURLUE_OK)
        base = NULL;
    add_segments(&joined, base != NULL ? base : "");
    add_segments(&joined, extra);
    if (joined.len == 0)
        strbuf_append(&joined, "/", 1);
    if (curl_url_set(url, CURLUPART_PATH, joined.data, CURLU_URLENCODE) != CURLUE_OK)
        rc = fail(err, "data.path: expected a URL path");
    curl_free(base);
    strbuf_free(&joined);
    return rc;
}

/* true when query ("a=1&b=2") has a pair named name (name_len bytes). */
static bool query_has(const char *query, const char *name, size_t name_len)
{
    while (query != NULL && *query != '\0') {
        size_t pair = strcspn(query, "&"), key = strcspn(query, "=&");

        if (key == name_len && memcmp(query, name, name_len) == 0)
            return true;
        query += pair + (query[pair] == '&');
    }
    return false;
}

static int merge_query(CURLU *url, const char *extra, struct strbuf *err)
{
    struct strbuf pair = STRBUF_INIT;
    char *own = NULL;
    int rc = 0;

    if (curl_url_get(url, CURLUPART_QUERY, &own, 0) != CURLUE_OK)
        own = NULL;
    while (rc == 0 && *extra != '\0') {
        size_t n = strcspn(extra, "&"), key = strcspn(extra, "=&");

        strbuf_reset(&pair);
        strbuf_append(&pair, extra, n);
        if (n > 0 && !query_has(own, extra, key) &&
            curl_url_set(url, CURLUPART_QUERY, pair.data, CURLU_APPENDQUERY) != CURLUE_OK)
            rc = fail(err, "data.query: expected \"name=value\" pairs joined by &");
        extra += n + (extra[n] == '&');
    }
    curl_free(own);
    strbuf_free(&pair);
    return rc;
}

/* A string member of the envelope, or NULL when absent or null; -EINVAL for another type. */
static int string_member(const json_t *envelope, const char *name, const char **out,
                         struct strbuf *err)
{
    const json_t *value = json_object_get(envelope, name);

    *out = NULL;
    if (value == NULL || json_is_null(value))
        return 0;
    if (!json_is_string(value)) {
        strbuf_reset(err);
        strbuf_appendf(err, "data.%s: expected a string", name);
        return -EINVAL;
    }
    *out = json_string_value(value);
    return 0;
}

static int build_url(const json_t *envelope, CURLU *base, struct outgoing *out,
                     struct strbuf *err)
{
    CURLU *url = curl_url_dup(base);
    const char *path, *query;
    char *text = NULL;
    int rc;

    rc = string_member(envelope, "path", &path, err);
    if (rc == 0)
        rc = string_member(envelope, "query", &query, err);
    if (rc == 0 && path != NULL && *path != '\0')
        rc = join_path(url, path, err);
    if (rc == 0 && query != NULL && *query != '\0')
        rc = merge_query(url, query, err);
    if (rc == 0 && curl_url_get(url, CURLUPART_URL, &text, 0) != CURLUE_OK)
        rc = fail(err, "data.path: the joined URL is not valid");
    if (rc == 0)
        out->url = strbuf_xstrdup(text);
    curl_free(text);
    curl_url_cleanup(url);
    return rc;
}

static int build_method(const json_t *envelope, struct outgoing *out, struct strbuf *err)
{
    const char *method;
    int rc = string_member(envelope, "method", &method, err);

    if (rc != 0 || method == NULL || *method == '\0')
        return rc;
    if (!outgoing_is_token(method, strlen(method)))
        return fail(err, "data.method: expected an HTTP method such as \"POST\"");
    out->method = strbuf_xstrdup(method);
    return 0;
}

/* A number as Go's %v prints a float64: the shortest text that reads back the same. */
static void number_text(const json_t *number, struct strbuf *out)
{
    double value = json_number_value(number);
    char text[32];

    if (json_is_integer(number)) {
        strbuf_appendf(out, "%lld", (long long)json_integer_value(number));
        return;
    }
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(text, sizeof(text), "%.*g", digits, value);
        if (strtod(text, NULL) == value || digits == 17)
            break;
    }
    strbuf_append_str(out, text);
}

/* The body and the Content-Type it implies (set before any header that may replace it). */
static void build_body(const json_t *envelope, struct outgoing *out)
{
    const json_t *body = json_object_get(envelope, "body");
    char *text;

    if (body == NULL || json_is_null(body))
        return;
    if (json_is_string(body)) {
        strbuf_append(&out->body, json_string_value(body), json_string_length(body));
        return;
    }
    if (json_is_boolean(body) || json_is_number(body)) {
        if (json_is_boolean(body))
            strbuf_append_str(&out->body, json_is_true(body) ? "true" : "false");
        else
            number_text(body, &out->body);
        outgoing_header(out, "Content-Type", 12, "text/plain", 10);
        return;
    }
    text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
    strbuf_append_str(&out->body, text);
    free(text);
    outgoing_header(out, "Content-Type", 12, "application/json", 16);
}

static int build_headers(const json_t *envelope, struct outgoing *out, struct strbuf *err)
{
    const json_t *headers = json_object_get(envelope, "headers");
    const char *name;
    json_t *value;

    if (headers == NULL || json_is_null(headers))
        return 0;
    if (!json_is_object(headers))
        return fail(err, "data.headers: expected an object of header names to string values");
    json_object_foreach((json_t *)headers, name, value) {
        if (!json_is_string(value) ||
            outgoing_header(out, name, strlen(name), json_string_value(value),
                            json_string_length(value)) != 0) {
            strbuf_reset(err);
            strbuf_appendf(err, "data.headers.%s: expected a header name (an HTTP token) with a "
                           "string value on one line", name);
            return -EINVAL;
        }
    }
    return 0;
}

int vanus_build(const struct vane_host *host, const struct vane_event *ev, CURLU *base,
                const json_t *option_headers, struct outgoing *out, struct strbuf *err)
{
    json_t *envelope = load_envelope(host, ev, err);
    int rc;

    if (envelope == NULL)
        return -EINVAL;
    if (!json_is_object(envelope)) {
        json_decref(envelope);
        return fail(err, "data: expected a JSON object {method, path, query, headers, body}");
    }
    rc = build_url(envelope, base, out, err);
    if (rc == 0)
        rc = build_method(envelope, out, err);
    if (rc == 0) {
        build_body(envelope, out);
        if (option_headers != NULL)
            outgoing_headers_from(out, option_headers);
        rc = build_headers(envelope, out, err);
    }
    json_decref(envelope);
    return rc;
}

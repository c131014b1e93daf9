/*
 * event.c -- vanectl event put|get: publishing one CloudEvent and reading
 * stored ones back.
 *
 * put publishes in binary content mode (CloudEvents HTTP binding, 3.1):
 * POST /gateway/EVENTBUS with every context attribute in a ce-* header,
 * its value percent-encoded (encode_header_value), the data bytes as the
 * body as they are, and the data's content type as Content-Type.  Options
 * that set one attribute each are rows of put_attributes[], matched by
 * position to put_options[]; --ext adds any other.  Like the CloudEvents
 * SDKs, put fills in a UUIDv4 id and the current time when none is given.
 *
 * get reads GET /api/v1/eventbuses/EVENTBUS/events from a position (eventlog
 * and offset), from a time, or by id, and prints the events.  Its options'
 * checks, the query they make and the table of events serve
 * `subscription dead-letter` too (event.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/json_span.h"
#include "encode.h"
#include "event.h"
#include "event/event_check.h"
#include "parse.h"
#include "vanectl.h"

/* 0 when value is an RFC 3339 time, else the usage error that names option. */
static int check_timestamp(const struct context *ctx, const char *option, const char *value)
{
    const char *why;

    if (parse_timestamp(value, &why) == 0)
        return 0;
    return command_usage_error(ctx, "%s: %s; got \"%s\"", option, why, value);
}

/* ---- put ---- */

enum put_option {
    PUT_ID = 256, /* the rows up to PUT_DELIVERY_TIME set one attribute each */
    PUT_SOURCE,
    PUT_TYPE,
    PUT_SUBJECT,
    PUT_TIME,
    PUT_DATASCHEMA,
    PUT_PARTITION_KEY,
    PUT_DELIVERY_TIME,
    PUT_CONTENT_TYPE,
    PUT_EXT,
    PUT_DATA,
    PUT_DATA_FILE,
};

static const struct option put_options[] = {
    {"id", required_argument, NULL, PUT_ID},
    {"source", required_argument, NULL, PUT_SOURCE},
    {"type", required_argument, NULL, PUT_TYPE},
    {"subject", required_argument, NULL, PUT_SUBJECT},
    {"time", required_argument, NULL, PUT_TIME},
    {"dataschema", required_argument, NULL, PUT_DATASCHEMA},
    {"partition-key", required_argument, NULL, PUT_PARTITION_KEY},
    {"delivery-time", required_argument, NULL, PUT_DELIVERY_TIME},
    {"content-type", required_argument, NULL, PUT_CONTENT_TYPE},
    {"ext", required_argument, NULL, PUT_EXT},
    {"data", required_argument, NULL, PUT_DATA},
    {"data-file", required_argument, NULL, PUT_DATA_FILE},
    {NULL, 0, NULL, 0},
};

/* The attribute each of the first options sets, in put_options[]'s order. */
static const struct put_attribute {
    const char *name;
    bool timestamp;
} put_attributes[] = {
    {"id", false},
    {"source", false},
    {"type", false},
    {"subject", false},
    {"time", true},
    {"dataschema", false},
    {"partitionkey", false},
    {EVENT_DELIVERY_TIME, true},
};

#define PUT_ATTRIBUTE_COUNT (sizeof(put_attributes) / sizeof(put_attributes[0]))

struct put_request {
    json_t *attributes;       /* name -> string value, in the order given */
    const char *content_type; /* --content-type, or NULL */
    const char *data_text;    /* --data, or NULL */
    const char *data_file;    /* --data-file, "-" for stdin, or NULL */
};

/* Sets an attribute; CloudEvents attributes are Unicode, so the value must be UTF-8. */
static int set_attribute(const struct context *ctx, json_t *attributes, const char *option,
                         const char *name, const char *value)
{
    return command_set_text(ctx, option, attributes, name, value);
}

/* The option that sets attribute name itself, or NULL. */
static const char *option_for(const char *name)
{
    for (size_t i = 0; i < PUT_ATTRIBUTE_COUNT; i++)
        if (strcmp(put_attributes[i].name, name) == 0)
            return put_options[i].name;
    if (strcmp(name, "datacontenttype") == 0)
        return "content-type";
    return NULL;
}

static int add_extension(const struct context *ctx, json_t *attributes, const char *text)
{
    const char *value, *option;
    char *name;
    int status;

    if (parse_extension(text, &name, &value) != 0)
        return command_bad_value(ctx, "--ext", PARSE_EXTENSION_EXPECTED, text);
    if ((option = option_for(name)) != NULL)
        status = command_usage_error(ctx, "--ext: %s has its own option, --%s", name, option);
    else if (strcmp(name, "specversion") == 0)
        status = command_usage_error(ctx, "--ext: vanectl always sends specversion 1.0");
    else
        status = set_attribute(ctx, attributes, "--ext", name, value);
    vane_free(name);
    return status;
}

static int add_put_option(const struct context *ctx, int opt, const char *value,
                          struct put_request *req)
{
    size_t row = (size_t)(opt - PUT_ID);
    char *option;
    int status = 0;

    if (opt >= PUT_ID && row < PUT_ATTRIBUTE_COUNT) {
        option = vane_asprintf("--%s", put_options[row].name);
        if (put_attributes[row].timestamp)
            status = check_timestamp(ctx, option, value);
        if (status == 0)
            status = set_attribute(ctx, req->attributes, option, put_attributes[row].name, value);
        vane_free(option);
        return status;
    }
    switch (opt) {
    case PUT_CONTENT_TYPE: req->content_type = value; return 0;
    case PUT_EXT: return add_extension(ctx, req->attributes, value);
    case PUT_DATA: req->data_text = value; return 0;
    case PUT_DATA_FILE: req->data_file = value; return 0;
    default: return VANECTL_EXIT_USAGE; /* command_getopt() has said what is wrong */
    }
}

/* Checks what the options left out, and fills in the id and time. */
static int complete_put(const struct context *ctx, struct put_request *req)
{
    char *filled;

    if (req->data_text != NULL && req->data_file != NULL)
        return command_usage_error(ctx, "give --data or --data-file, not both");
    if (json_object_get(req->attributes, "source") == NULL)
        return command_usage_error(ctx, "--source is required (the event's origin, a URI "
                                        "reference such as /myapp)");
    if (json_object_get(req->attributes, "type") == NULL)
        return command_usage_error(ctx, "--type is required (such as com.example.order.created)");
    if (json_object_get(req->attributes, "id") == NULL) {
        if ((filled = encode_uuid_v4()) == NULL) {
            fprintf(stderr, "vanectl: %s: cannot make an event id: %s; give one with --id\n",
                    ctx->command_name, strerror(errno));
            return VANECTL_EXIT_FAILED;
        }
        json_object_set_new(req->attributes, "id", json_string(filled));
        vane_free(filled);
    }
    if (json_object_get(req->attributes, "time") == NULL) {
        filled = format_now();
        json_object_set_new(req->attributes, "time", json_string(filled));
        vane_free(filled);
    }
    return 0;
}

/* Reads all of file into data.  Returns 0 or -errno. */
static int read_stream(FILE *file, struct vane_buf *data)
{
    size_t got;

    do {
        vane_buf_reserve(data, 65536);
        got = fread(data->data + data->len, 1, data->cap - data->len - 1, file);
        data->len += got;
        data->data[data->len] = '\0'; /* vane_buf's promise: the bytes end with a NUL */
    } while (got > 0);
    return ferror(file) ? -EIO : 0;
}

/* The event's data from --data or --data-file.  Returns 0 or an exit status. */
static int read_data(const struct context *ctx, const struct put_request *req,
                     struct vane_buf *data)
{
    FILE *file;
    int err;

    if (req->data_text != NULL) {
        vane_buf_append_str(data, req->data_text);
        return 0;
    }
    if (strcmp(req->data_file, "-") == 0)
        file = stdin;
    else if ((file = fopen(req->data_file, "rb")) == NULL)
        return command_usage_error(ctx, "--data-file: cannot open %s: %s", req->data_file,
                                   strerror(errno));
    err = read_stream(file, data);
    if (file != stdin)
        fclose(file);
    if (err != 0)
        return command_usage_error(ctx, "--data-file: cannot read %s: %s", req->data_file,
                                   strerror(-err));
    return 0;
}

/* "ce-NAME: VALUE" for every attribute, NULL-terminated; free with free_headers(). */
static char **ce_headers(const json_t *attributes)
{
    char **headers = vane_calloc(json_object_size(attributes) + 2, sizeof(*headers));
    const char *name;
    json_t *value;
    size_t n = 0;

    headers[n++] = vane_strdup("ce-specversion: 1.0");
    json_object_foreach((json_t *)attributes, name, value) {
        char *encoded = encode_header_value(json_string_value(value));

        /* "Name;" is how curl sends an empty header; "Name:" would remove it, and the
         * broker should see the empty value and say what is wrong with it. */
        headers[n++] = *encoded ? vane_asprintf("ce-%s: %s", name, encoded)
                                : vane_asprintf("ce-%s;", name);
        vane_free(encoded);
    }
    return headers;
}

static void free_headers(char **headers)
{
    for (size_t i = 0; headers[i] != NULL; i++)
        vane_free(headers[i]);
    vane_free(headers);
}

static void print_published(const struct client_reply *reply)
{
    static const char *const columns[] = {"id", "eventlog", "offset", "duplicate"};

    output_table(stdout, columns, sizeof(columns) / sizeof(columns[0]),
                 json_object_get(reply->body, "events"));
}

/* Publishes the event of req in binary mode and prints the answer. */
static int publish(const struct context *ctx, const char *eventbus, const struct put_request *req,
                   const struct vane_buf *data, bool has_data)
{
    struct client_body body = {req->content_type, data->data, data->len};
    struct client_reply reply;
    char **headers = ce_headers(req->attributes);
    char *path = command_path("/gateway/", eventbus, "");
    int status;

    if (body.content_type == NULL && has_data)
        body.content_type = encode_guess_content_type(data->data, data->len);
    client_send(&ctx->client, "POST", path, (const char *const *)headers, &body, &reply);
    status = command_finish(ctx, eventbus, &reply, print_published);
    vane_free(path);
    free_headers(headers);
    return status;
}

static int put_event(struct context *ctx, int argc, char **argv)
{
    struct put_request req = {json_object(), NULL, NULL, NULL};
    struct vane_buf data = VANE_BUF_INIT;
    const char *eventbus = NULL;
    bool has_data;
    int opt, status = 0;

    while (status == 0 && (opt = command_getopt(ctx, argc, argv, put_options)) != -1)
        status = add_put_option(ctx, opt, optarg, &req);
    if (status == 0)
        status = command_one_argument(ctx, argc, argv, "EVENTBUS", &eventbus);
    if (status == 0)
        status = complete_put(ctx, &req);
    has_data = req.data_text != NULL || req.data_file != NULL;
    if (status == 0 && has_data)
        status = read_data(ctx, &req, &data);
    if (status == 0)
        status = publish(ctx, eventbus, &req, &data, has_data);
    vane_buf_free(&data);
    json_decref(req.attributes);
    return status;
}

/* ---- get ---- */

static const struct option get_options[] = {
    {"eventlog", required_argument, NULL, EVENT_QUERY_EVENTLOG},
    {"offset", required_argument, NULL, EVENT_QUERY_OFFSET},
    {"limit", required_argument, NULL, EVENT_QUERY_LIMIT},
    {"time", required_argument, NULL, EVENT_QUERY_TIME},
    {"id", required_argument, NULL, EVENT_QUERY_ID},
    {NULL, 0, NULL, 0},
};

#define EVENTLOG_INDEX_MAX 63 /* an eventbus has at most 64 eventlogs */
#define DATA_PREVIEW_MAX 40

int event_query_option(const struct context *ctx, int opt, const char *value,
                       struct event_query *query)
{
    uint64_t number;

    switch (opt) {
    case EVENT_QUERY_EVENTLOG:
        if (parse_count(value, EVENTLOG_INDEX_MAX, &number) != 0)
            return command_bad_value(ctx, "--eventlog", "an eventlog number from 0 to 63", value);
        query->eventlog = value;
        return 0;
    case EVENT_QUERY_OFFSET:
        if (parse_count(value, INT64_MAX, &number) != 0)
            return command_bad_value(ctx, "--offset", "a whole number, 0 or more", value);
        query->offset = value;
        return 0;
    case EVENT_QUERY_LIMIT:
        if (parse_count(value, EVENT_QUERY_LIMIT_MAX, &number) != 0 || number == 0)
            return command_bad_value(ctx, "--limit", "a whole number from 1 to 1000", value);
        query->limit = value;
        return 0;
    case EVENT_QUERY_TIME:
        query->time = value;
        return check_timestamp(ctx, "--time", value);
    case EVENT_QUERY_ID: query->id = value; return 0;
    default: return VANECTL_EXIT_USAGE; /* command_getopt() has said what is wrong */
    }
}

/* Whether the options say one thing: a position, a time, or an id. */
static int check_query(const struct context *ctx, const struct event_query *query)
{
    if (query->id != NULL &&
        (query->eventlog || query->offset || query->limit || query->time))
        return command_usage_error(ctx, "--id searches every eventlog for one event; it takes "
                                        "no --eventlog, --offset, --limit or --time");
    if (query->time != NULL && query->offset != NULL)
        return command_usage_error(ctx, "--time and --offset both say where to start; give one");
    return 0;
}

static void append_parameter(struct vane_buf *url, const char *name, const char *value)
{
    char *encoded;

    if (value == NULL)
        return;
    encoded = encode_url_component(value);
    vane_buf_appendf(url, "%c%s=%s", strchr(url->data, '?') ? '&' : '?', name, encoded);
    vane_free(encoded);
}

char *event_query_path(const char *path, const struct event_query *query)
{
    struct vane_buf url = VANE_BUF_INIT;

    vane_buf_append_str(&url, path);
    append_parameter(&url, "eventlog", query->eventlog);
    append_parameter(&url, "offset", query->offset);
    append_parameter(&url, "time", query->time);
    append_parameter(&url, "limit", query->limit);
    append_parameter(&url, "id", query->id);
    return vane_buf_detach(&url);
}

static size_t base64_decoded_length(const char *base64)
{
    size_t len = strlen(base64), padding = 0;

    while (padding < 2 && padding < len && base64[len - 1 - padding] == '=')
        padding++;
    return len / 4 * 3 - (len % 4 == 0 ? padding : 0);
}

/*
 * The data of one stored event as the answer wrote it (stored is the raw
 * text of its element of "events"), or NULL.  Not jansson's copy: the
 * broker keeps JSON data as it was sent, numbers included, and so does the
 * preview.  The caller frees it with vane_free().
 */
static char *raw_data(struct json_span stored)
{
    struct json_span event, data;

    if (stored.ptr == NULL || !json_span_member(stored, "event", &event) ||
        !json_span_member(event, "data", &data))
        return NULL;
    return vane_strndup(data.ptr, data.len);
}

json_t *event_text_cell(char *text, size_t width)
{
    char *cut;
    json_t *cell;

    for (char *p = text; *p != '\0'; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    if (strlen(text) > width) {
        cut = text + width - 3; /* room for "..." within what text holds */
        while (cut > text && ((unsigned char)*cut & 0xc0) == 0x80)
            cut--; /* back to the first byte of a UTF-8 sequence */
        strcpy(cut, "...");
    }
    cell = json_string(text);
    vane_free(text);
    return cell;
}

/* The start of an event's data on one line: text as it is, JSON as it was sent, binary
 * (data_base64) as its size. */
static json_t *data_preview(const json_t *event, struct json_span stored)
{
    const json_t *data = json_object_get(event, "data");
    const json_t *base64 = json_object_get(event, "data_base64");
    char *text;

    if (json_is_string(base64))
        return json_sprintf("(%zu bytes binary)", base64_decoded_length(json_string_value(base64)));
    if (data == NULL)
        return json_string("");
    if (json_is_string(data))
        return event_text_cell(vane_strdup(json_string_value(data)), DATA_PREVIEW_MAX);
    if ((text = raw_data(stored)) == NULL) {
        char *dumped = json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY);

        text = vane_strdup(dumped);
        free(dumped);
    }
    return event_text_cell(text, DATA_PREVIEW_MAX);
}

static json_t *event_row(const json_t *stored, struct json_span stored_text)
{
    const json_t *event = json_object_get(stored, "event");
    json_t *time = json_object_get(event, "time");

    return json_pack("{s:O?,s:O?,s:O?,s:O?,s:O?,s:o,s:o}",
                     "eventlog", json_object_get(stored, "eventlog"),
                     "offset", json_object_get(stored, "offset"),
                     "id", json_object_get(event, "id"),
                     "source", json_object_get(event, "source"),
                     "type", json_object_get(event, "type"),
                     "time", json_is_string(time) ? json_incref(time) : json_string("-"),
                     "data", data_preview(event, stored_text));
}

/* The raw text of each element of the answer's "events", count of them; all empty when
 * the text cannot be walked (the preview then falls back to jansson's JSON). */
static struct json_span *stored_texts(const struct client_reply *reply, size_t count)
{
    struct json_span answer = {reply->text, reply->text_len}, events;
    struct json_span *texts = vane_calloc(count + 1, sizeof(*texts));

    if (!json_span_member(answer, "events", &events) ||
        json_span_elements(events, texts, count) != (long)count)
        memset(texts, 0, (count + 1) * sizeof(*texts));
    return texts;
}

/* "next: --eventlog N --offset N", the eventlog only where next names one. */
static void print_next(const json_t *next)
{
    const json_t *eventlog = json_object_get(next, "eventlog");

    fputs("\nnext:", stdout);
    if (eventlog != NULL)
        printf(" --eventlog %" JSON_INTEGER_FORMAT, json_integer_value(eventlog));
    printf(" --offset %" JSON_INTEGER_FORMAT "\n",
           json_integer_value(json_object_get(next, "offset")));
}

void event_print_table(const struct client_reply *reply, const char *const *columns,
                       size_t column_count,
                       json_t *(*row)(const json_t *stored, struct json_span stored_text))
{
    const json_t *events = json_object_get(reply->body, "events");
    const json_t *next = json_object_get(reply->body, "next");
    struct json_span *texts = stored_texts(reply, json_array_size(events));
    const json_t *stored;
    json_t *rows = json_array();
    size_t i;

    json_array_foreach(events, i, stored)
        json_array_append_new(rows, row(stored, texts[i]));
    output_table(stdout, columns, column_count, rows);
    if (json_is_object(next))
        print_next(next);
    json_decref(rows);
    vane_free(texts);
}

static void print_events(const struct client_reply *reply)
{
    static const char *const columns[] = {"eventlog", "offset", "id", "source", "type", "time",
                                          "data"};

    event_print_table(reply, columns, sizeof(columns) / sizeof(columns[0]), event_row);
}

static int get_events(struct context *ctx, int argc, char **argv)
{
    struct event_query query = {NULL, NULL, NULL, NULL, NULL};
    const char *eventbus = NULL;
    char *base, *path;
    int opt, status = 0;

    while (status == 0 && (opt = command_getopt(ctx, argc, argv, get_options)) != -1)
        status = event_query_option(ctx, opt, optarg, &query);
    if (status == 0)
        status = command_one_argument(ctx, argc, argv, "EVENTBUS", &eventbus);
    if (status == 0)
        status = check_query(ctx, &query);
    if (status != 0)
        return status;
    base = command_path("/api/v1/eventbuses/", eventbus, "/events");
    path = event_query_path(base, &query);
    status = command_call(ctx, eventbus, "GET", path, NULL, print_events);
    vane_free(path);
    vane_free(base);
    return status;
}

const struct command event_commands[] = {
    {"put", "EVENTBUS --source SOURCE --type TYPE [OPTION]...",
     "publish one event (binary content mode)",
     "  --id ID                 the event's id (default: a new UUIDv4)\n"
     "  --source SOURCE         where it comes from, a URI reference (required)\n"
     "  --type TYPE             what happened, such as com.example.order.created (required)\n"
     "  --subject SUBJECT       what it is about, within the source\n"
     "  --time TIME             when it happened, RFC 3339 (default: now)\n"
     "  --dataschema URI        the schema its data follows\n"
     "  --content-type TYPE     the data's media type (default: application/json when the\n"
     "                          data is JSON, text/plain; charset=utf-8 when it is text,\n"
     "                          else application/octet-stream)\n"
     "  --ext NAME=VALUE        an extension attribute (repeat for more); the name is\n"
     "                          lowercase letters and digits\n"
     "  --partition-key KEY     events with one key go to one eventlog, in order\n"
     "  --delivery-time TIME    deliver it to subscriptions no earlier than this\n"
     "                          (RFC 3339; sets the xvanusdeliverytime extension)\n"
     "  --data TEXT             the data\n"
     "  --data-file PATH        the data, read from a file as bytes; - reads stdin\n",
     put_event, NULL},
    {"get", "EVENTBUS [--eventlog N] [--offset N | --time TIME] [--limit N] | --id ID",
     "read stored events from an offset or a time, or find one by id",
     "  --eventlog N            which eventlog to read (default 0)\n"
     "  --offset N              the first offset to read (default 0)\n"
     "  --time TIME             start at the first event stored at or after TIME (RFC 3339)\n"
     "  --limit N               at most N events, 1 to 1000 (default 10)\n"
     "  --id ID                 find the event with this id in every eventlog\n",
     get_events, NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};

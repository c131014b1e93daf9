/*
 * delivery.c -- events to HTTP requests (see delivery.h).
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/alloc.h"
#include "core/percent.h"
#include "event/event_json.h"
#include "trigger/delivery.h"

int delivery_mode_parse(const char *text)
{
    static const char *const names[] = {"binary", "structured", "batch"};

    for (int i = 0; i < 3; i++)
        if (strcmp(text, names[i]) == 0)
            return i;
    return -1;
}

/* The attribute's canonical string form (spec: "Type System"), encoded for a header. */
static void header_value(struct vane_buf *line, const struct event_value *v)
{
    char text[32];
    unsigned char *b64;
    int n;

    switch (v->type) {
    case EVENT_BOOLEAN:
        vane_buf_append_str(line, v->u.boolean ? "true" : "false");
        break;
    case EVENT_INTEGER:
        n = snprintf(text, sizeof(text), "%lld", (long long)v->u.integer);
        vane_buf_append(line, text, (size_t)n);
        break;
    case EVENT_BINARY:
        b64 = vane_malloc((v->u.bytes.len + 2) / 3 * 4 + 1);
        n = EVP_EncodeBlock(b64, (const unsigned char *)v->u.bytes.ptr, (int)v->u.bytes.len);
        vane_buf_append(line, b64, (size_t)n);
        vane_free(b64);
        break;
    default:
        vane_percent_encode_header(line, v->u.bytes.ptr, v->u.bytes.len);
    }
}

static struct curl_slist *add_line(struct curl_slist *list, struct vane_buf *line)
{
    list = curl_slist_append(list, line->data);
    vane_buf_reset(line);
    return list;
}

static void encode_binary(const struct event *event, struct delivery_message *out)
{
    struct vane_buf line = VANE_BUF_INIT;

    for (size_t i = 0; i < event->attr_count; i++) {
        const struct event_attr *attr = &event->attrs[i];

        if (attr->name.len == 15 && memcmp(attr->name.ptr, "datacontenttype", 15) == 0) {
            vane_buf_appendf(&line, "Content-Type: %.*s", (int)attr->value.u.bytes.len,
                             attr->value.u.bytes.ptr);
        } else {
            vane_buf_appendf(&line, "ce-%.*s: ", (int)attr->name.len, attr->name.ptr);
            header_value(&line, &attr->value);
        }
        out->headers = add_line(out->headers, &line);
    }
    if (event_get(event, "datacontenttype") == NULL)
        out->headers = curl_slist_append(out->headers, "Content-Type:"); /* none: curl adds none */
    if (event->has_data)
        vane_buf_append(&out->body, event->data.ptr, event->data.len);
    vane_buf_free(&line);
}

void delivery_encode(enum delivery_mode mode, const struct event *events, size_t count,
                     const struct curl_slist *extra, struct delivery_message *out)
{
    switch (mode) {
    case DELIVERY_BINARY:
        encode_binary(&events[0], out);
        break;
    case DELIVERY_STRUCTURED:
        out->headers = curl_slist_append(out->headers,
                                         "Content-Type: application/cloudevents+json");
        event_to_json(&events[0], &out->body);
        break;
    case DELIVERY_BATCH:
        out->headers = curl_slist_append(out->headers,
                                         "Content-Type: application/cloudevents-batch+json");
        vane_buf_append(&out->body, "[", 1);
        for (size_t i = 0; i < count; i++) {
            if (i > 0)
                vane_buf_append(&out->body, ",", 1);
            event_to_json(&events[i], &out->body);
        }
        vane_buf_append(&out->body, "]", 1);
        break;
    }
    out->headers = curl_slist_append(out->headers, "Expect:");
    for (const struct curl_slist *h = extra; h != NULL; h = h->next)
        out->headers = curl_slist_append(out->headers, h->data);
}

void delivery_message_free(struct delivery_message *message)
{
    curl_slist_free_all(message->headers);
    vane_buf_free(&message->body);
    message->headers = NULL;
}

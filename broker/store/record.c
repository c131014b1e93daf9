/*
 * record.c -- encode, seal and decode stored records (see record.h for the
 * layout).  Every multi-byte field is read and written through the helpers
 * below, so the format is little-endian on any host and never depends on
 * alignment.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "core/crc32c.h"
#include "core/endian.h"
#include "core/error.h"
#include "store/record.h"

static size_t value_size(const struct event_value *value)
{
    switch (value->type) {
    case EVENT_BOOLEAN: return 1;
    case EVENT_INTEGER: return 8;
    default: return value->u.bytes.len;
    }
}

size_t record_size(const struct event *event)
{
    size_t size = RECORD_HEADER_SIZE + event->data.len;

    if (event->attr_count > UINT16_MAX)
        return 0;
    for (size_t i = 0; i < event->attr_count; i++) {
        const struct event_attr *attr = &event->attrs[i];

        if (attr->name.len == 0 || attr->name.len > UINT8_MAX)
            return 0;
        size += RECORD_ATTR_HEADER_SIZE + attr->name.len + value_size(&attr->value);
        if (size > RECORD_MAX_SIZE)
            return 0;
    }
    return size <= RECORD_MAX_SIZE ? size : 0;
}

static uint8_t *encode_attr(uint8_t *p, const struct event_attr *attr)
{
    const struct event_value *value = &attr->value;
    size_t len = value_size(value);

    p[0] = (uint8_t)value->type;
    p[1] = (uint8_t)attr->name.len;
    vane_put32(p + 2, (uint32_t)len);
    memcpy(p + RECORD_ATTR_HEADER_SIZE, attr->name.ptr, attr->name.len);
    p += RECORD_ATTR_HEADER_SIZE + attr->name.len;
    if (value->type == EVENT_BOOLEAN)
        p[0] = value->u.boolean ? 1 : 0;
    else if (value->type == EVENT_INTEGER)
        vane_put64(p, (uint64_t)value->u.integer);
    else if (len > 0)
        memcpy(p, value->u.bytes.ptr, len);
    return p + len;
}

size_t record_encode(const struct event *event, void *out)
{
    uint8_t *base = out, *p = base + RECORD_HEADER_SIZE;
    size_t size;

    memset(base, 0, RECORD_HEADER_SIZE);
    base[8] = RECORD_VERSION;
    base[9] = event->has_data ? RECORD_FLAG_DATA : 0;
    vane_put16(base + 10, (uint16_t)event->attr_count);
    vane_put32(base + 12, (uint32_t)event->data.len);
    for (size_t i = 0; i < event->attr_count; i++)
        p = encode_attr(p, &event->attrs[i]);
    if (event->data.len > 0)
        memcpy(p, event->data.ptr, event->data.len);
    size = (size_t)(p - base) + event->data.len;
    vane_put32(base, (uint32_t)size);
    return size;
}

void record_seal(void *record, uint64_t offset, int64_t stored_at, uint64_t raft_index,
                 uint32_t entry_pos)
{
    uint8_t *base = record;
    uint32_t size = vane_get32(base);

    vane_put64(base + 16, offset);
    vane_put64(base + 24, (uint64_t)stored_at);
    vane_put64(base + 32, raft_index);
    vane_put32(base + 40, entry_pos);
    vane_put32(base + 4, vane_crc32c(0, base + 8, size - 8));
}

static void read_header(const uint8_t *base, struct record_view *view)
{
    view->base = base;
    view->size = vane_get32(base);
    view->flags = base[9];
    view->attr_count = vane_get16(base + 10);
    view->data_len = vane_get32(base + 12);
    view->offset = vane_get64(base + 16);
    view->stored_at = (int64_t)vane_get64(base + 24);
    view->raft_index = vane_get64(base + 32);
    view->entry_pos = vane_get32(base + 40);
    view->attrs = base + RECORD_HEADER_SIZE;
}

void record_peek_header(const void *record, struct record_view *view)
{
    read_header(record, view);
    view->data = view->base + view->size - view->data_len;
}

uint32_t record_peek_size(const void *buf, size_t avail)
{
    return avail >= 4 ? vane_get32(buf) : 0;
}

/* Walks the attributes, checking each lies inside the record. */
static const char *check_attrs(const struct record_view *view)
{
    const uint8_t *p = view->attrs, *end = view->base + view->size - view->data_len;

    for (uint16_t i = 0; i < view->attr_count; i++) {
        uint8_t type, name_len;
        uint32_t value_len;

        if (end - p < RECORD_ATTR_HEADER_SIZE)
            return "attribute header past the end of the record";
        type = p[0];
        name_len = p[1];
        value_len = vane_get32(p + 2);
        if (type < EVENT_BOOLEAN || type > EVENT_TIMESTAMP)
            return "unknown attribute type";
        if (name_len == 0)
            return "empty attribute name";
        if ((type == EVENT_BOOLEAN && value_len != 1) || (type == EVENT_INTEGER && value_len != 8))
            return "attribute value of the wrong size for its type";
        p += RECORD_ATTR_HEADER_SIZE;
        if ((size_t)(end - p) < (size_t)name_len + value_len)
            return "attribute past the end of the record";
        if (type == EVENT_BOOLEAN && p[name_len] > 1)
            return "Boolean value other than 0 or 1";
        p += name_len + value_len;
    }
    return p == end ? NULL : "attributes and data do not fill the record";
}

static int decode(const void *buf, size_t avail, struct record_view *view, const char **why,
                  bool sealed)
{
    const uint8_t *base = buf;
    const char *problem = NULL;

    if (avail < 8)
        return -ENODATA;
    view->base = base;
    view->size = vane_get32(base);
    if (view->size < RECORD_HEADER_SIZE || view->size > RECORD_MAX_SIZE)
        problem = "impossible record size";
    else if (view->size > avail)
        return -ENODATA;
    else if (sealed && vane_get32(base + 4) != vane_crc32c(0, base + 8, view->size - 8))
        problem = "CRC mismatch";
    else if (base[8] != RECORD_VERSION)
        problem = "unknown record version";
    if (problem == NULL) {
        read_header(base, view);
        if (view->data_len > view->size - RECORD_HEADER_SIZE)
            problem = "data length past the end of the record";
        else if (view->flags & ~RECORD_FLAG_DATA)
            problem = "unknown flags";
        else if (view->data_len > 0 && !(view->flags & RECORD_FLAG_DATA))
            problem = "data without the data flag";
        else
            problem = check_attrs(view);
        view->data = base + view->size - view->data_len;
    }
    if (problem != NULL) {
        if (why != NULL)
            *why = problem;
        return VANE_ECORRUPT;
    }
    return 0;
}

int record_decode(const void *buf, size_t avail, struct record_view *view, const char **why)
{
    return decode(buf, avail, view, why, true);
}

int record_decode_unsealed(const void *buf, size_t avail, struct record_view *view,
                           const char **why)
{
    return decode(buf, avail, view, why, false);
}

void record_to_event(const struct record_view *view, struct event *event)
{
    const uint8_t *p = view->attrs;

    event_reset(event);
    for (uint16_t i = 0; i < view->attr_count; i++) {
        struct event_value value = {.type = (enum event_type)p[0]};
        uint8_t name_len = p[1];
        uint32_t value_len = vane_get32(p + 2);
        const char *name = (const char *)p + RECORD_ATTR_HEADER_SIZE;
        const uint8_t *v = p + RECORD_ATTR_HEADER_SIZE + name_len;

        if (value.type == EVENT_BOOLEAN)
            value.u.boolean = v[0] != 0;
        else if (value.type == EVENT_INTEGER)
            value.u.integer = (int64_t)vane_get64(v);
        else
            value.u.bytes = (struct event_bytes){(const char *)v, value_len};
        event_add(event, name, name_len, &value);
        p = v + value_len;
    }
    if (view->flags & RECORD_FLAG_DATA)
        event_set_data(event, view->data, view->data_len);
}

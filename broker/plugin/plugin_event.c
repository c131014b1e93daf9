/*
 * plugin_event.c -- the event a plugin sees, and the host's event_*
 * functions (see plugin_event.h).
 *
 * Reads hand out pointers into the struct event's bytes.  A change checks
 * the name (event_name_valid(), not "data", no reserved xvanus* name but
 * xvanusdeliverytime, as event_check() has it) and the type of a
 * CloudEvents attribute (event_attr_type(); specversion, id, type, subject
 * and datacontenttype are strings), then copies name and bytes into the
 * event's arena and sets the attribute where it stands, or appends it.
 * The rest of event_check()'s rules -- text that is UTF-8, integers of 32
 * bits, timestamps that parse, the required attributes -- are about the
 * whole event and are checked where it leaves the plugin: by
 * plugin_instance_transform() for a transform's output, and by the
 * publishing path for a source's.
 */
#include <errno.h>
#include <string.h>

#include "core/alloc.h"
#include "event/event_check.h"
#include "plugin/plugin_event.h"

#define RESERVED_PREFIX "xvanus"

struct plugin_event_release {
    struct plugin_event_release *next;
    void (*release)(void *ptr);
    void *ptr;
};

/* The CloudEvents attributes (spec and Vane's own), whose type is fixed. */
static bool typed_attribute(const char *name, size_t len)
{
    static const char *const names[] = {"specversion", "id", "source", "type",
                                        "datacontenttype", "dataschema", "subject", "time",
                                        EVENT_DELIVERY_TIME};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0)
            return true;
    return false;
}

static bool required_attribute(const char *name, size_t len)
{
    static const char *const names[] = {"specversion", "id", "source", "type"};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0)
            return true;
    return false;
}

static void to_value(const struct event_value *from, struct vane_value *to)
{
    memset(to, 0, sizeof(*to));
    to->type = (int)from->type;
    if (from->type == EVENT_BOOLEAN)
        to->boolean = from->u.boolean;
    else if (from->type == EVENT_INTEGER)
        to->integer = from->u.integer;
    else {
        to->ptr = from->u.bytes.ptr;
        to->len = from->u.bytes.len;
    }
}

static long find_attr(const struct event *event, const char *name, size_t len)
{
    for (size_t i = 0; i < event->attr_count; i++)
        if (event->attrs[i].name.len == len && memcmp(event->attrs[i].name.ptr, name, len) == 0)
            return (long)i;
    return -1;
}

/* ---- reading -------------------------------------------------------------------- */

static int event_get_fn(const struct vane_event *vev, const char *name, struct vane_value *out)
{
    const struct event_attr *attr;

    if (vev == NULL || name == NULL || out == NULL ||
        (attr = event_get(&vev->event, name)) == NULL)
        return 0;
    to_value(&attr->value, out);
    return 1;
}

static size_t event_attr_count_fn(const struct vane_event *vev)
{
    return vev != NULL ? vev->event.attr_count : 0;
}

static int event_attr_at_fn(const struct vane_event *vev, size_t i, const char **name,
                            size_t *name_len, struct vane_value *out)
{
    const struct event_attr *attr;

    if (vev == NULL || i >= vev->event.attr_count)
        return 0;
    attr = &vev->event.attrs[i];
    if (name != NULL)
        *name = attr->name.ptr;
    if (name_len != NULL)
        *name_len = attr->name.len;
    if (out != NULL)
        to_value(&attr->value, out);
    return 1;
}

static int event_data_fn(const struct vane_event *vev, const char **ptr, size_t *len)
{
    if (vev == NULL || !vev->event.has_data)
        return 0;
    if (ptr != NULL)
        *ptr = vev->event.data.ptr;
    if (len != NULL)
        *len = vev->event.data.len;
    return 1;
}

/* ---- changing ------------------------------------------------------------------- */

static const char *copy_bytes(struct vane_event *vev, const char *ptr, size_t len)
{
    return vane_arena_strndup(vev->arena, ptr != NULL ? ptr : "", ptr != NULL ? len : 0);
}

static int check_name(const char *name, size_t len)
{
    if (!event_name_valid(name, len) || (len == 4 && memcmp(name, "data", 4) == 0))
        return VANE_EINVAL;
    if (len >= strlen(RESERVED_PREFIX) &&
        memcmp(name, RESERVED_PREFIX, strlen(RESERVED_PREFIX)) == 0 &&
        !(len == strlen(EVENT_DELIVERY_TIME) && memcmp(name, EVENT_DELIVERY_TIME, len) == 0))
        return VANE_EINVAL;
    return 0;
}

static int check_type(const char *name, size_t len, const struct vane_value *value)
{
    if (value->type < VANE_BOOLEAN || value->type > VANE_TIMESTAMP)
        return VANE_EINVAL;
    if (typed_attribute(name, len) && (enum event_type)value->type != event_attr_type(name, len))
        return VANE_EINVAL;
    if (value->type != VANE_BOOLEAN && value->type != VANE_INTEGER && value->ptr == NULL &&
        value->len > 0)
        return VANE_EINVAL;
    return 0;
}

static int writable(const struct vane_event *vev)
{
    if (vev == NULL)
        return VANE_EINVAL;
    return vev->read_only ? -EPERM : 0;
}

static int event_set_fn(struct vane_event *vev, const char *name, const struct vane_value *value)
{
    size_t len = name != NULL ? strlen(name) : 0;
    struct event_value v;
    long i;
    int err;

    if ((err = writable(vev)) != 0)
        return err;
    if (name == NULL || value == NULL || (err = check_name(name, len)) != 0 ||
        (err = check_type(name, len, value)) != 0)
        return VANE_EINVAL;
    memset(&v, 0, sizeof(v));
    v.type = (enum event_type)value->type;
    if (v.type == EVENT_BOOLEAN)
        v.u.boolean = value->boolean != 0;
    else if (v.type == EVENT_INTEGER)
        v.u.integer = value->integer;
    else
        v.u.bytes = (struct event_bytes){copy_bytes(vev, value->ptr, value->len), value->len};
    if ((i = find_attr(&vev->event, name, len)) >= 0)
        vev->event.attrs[i].value = v;
    else
        event_add(&vev->event, copy_bytes(vev, name, len), len, &v);
    return 0;
}

static int event_remove_fn(struct vane_event *vev, const char *name)
{
    size_t len = name != NULL ? strlen(name) : 0;
    struct event *event;
    long i;
    int err;

    if ((err = writable(vev)) != 0)
        return err;
    if (name == NULL || required_attribute(name, len))
        return VANE_EINVAL;
    event = &vev->event;
    if ((i = find_attr(event, name, len)) < 0)
        return 0;
    memmove(&event->attrs[i], &event->attrs[i + 1],
            (event->attr_count - (size_t)i - 1) * sizeof(event->attrs[0]));
    event->attr_count--;
    return 0;
}

static int event_set_data_fn(struct vane_event *vev, const char *ptr, size_t len,
                             void (*release)(void *ptr))
{
    struct plugin_event_release *r;
    int err;

    if ((err = writable(vev)) != 0 || (ptr == NULL && len > 0)) {
        if (release != NULL && ptr != NULL)
            release((void *)ptr); /* the event took it, even to refuse it */
        return err != 0 ? err : VANE_EINVAL;
    }
    if (release == NULL) {
        event_set_data(&vev->event, copy_bytes(vev, ptr, len), len);
        return 0;
    }
    r = VANE_NEW(r);
    r->release = release;
    r->ptr = (void *)ptr;
    r->next = vev->releases;
    vev->releases = r;
    event_set_data(&vev->event, ptr, len);
    return 0;
}

static void event_clear_data_fn(struct vane_event *vev)
{
    if (writable(vev) == 0) {
        vev->event.has_data = false;
        vev->event.data = (struct event_bytes){NULL, 0};
    }
}

void plugin_event_host_functions(struct vane_host *host)
{
    host->event_get = event_get_fn;
    host->event_attr_count = event_attr_count_fn;
    host->event_attr_at = event_attr_at_fn;
    host->event_data = event_data_fn;
    host->event_set = event_set_fn;
    host->event_remove = event_remove_fn;
    host->event_set_data = event_set_data_fn;
    host->event_clear_data = event_clear_data_fn;
    host->event_free = plugin_event_free;
}

/* ---- the broker's side ------------------------------------------------------------ */

void plugin_event_wrap_const(struct vane_event *vev, const struct event *event)
{
    memset(vev, 0, sizeof(*vev));
    vev->event = *event;
    vev->read_only = true;
}

void plugin_event_wrap(struct vane_event *vev, const struct event *event,
                       struct vane_arena *arena)
{
    memset(vev, 0, sizeof(*vev));
    vev->event = *event;
    vev->event.attr_cap = event->attr_count;
    vev->event.attrs = NULL;
    if (event->attr_count > 0) {
        vev->event.attrs = vane_malloc(event->attr_count * sizeof(event->attrs[0]));
        memcpy(vev->event.attrs, event->attrs, event->attr_count * sizeof(event->attrs[0]));
    }
    vev->owns_attrs = true;
    vev->arena = arena;
}

struct vane_event *plugin_event_new(struct vane_arena *arena)
{
    struct vane_event *vev = VANE_NEW(vev);

    vev->owns_attrs = true;
    vev->arena = arena != NULL ? arena : &vev->own_arena;
    return vev;
}

static void run_releases(struct vane_event *vev)
{
    while (vev->releases != NULL) {
        struct plugin_event_release *r = vev->releases;

        vev->releases = r->next;
        r->release(r->ptr);
        vane_free(r);
    }
}

static struct event_bytes copy_into(struct vane_arena *arena, struct event_bytes bytes)
{
    return (struct event_bytes){vane_arena_strndup(arena, bytes.ptr ? bytes.ptr : "", bytes.len),
                                bytes.len};
}

void plugin_event_take(struct vane_event *vev, struct vane_arena *arena, struct event *out)
{
    const struct event *event = &vev->event;
    bool deep = vev->arena != arena; /* bytes in the event's own arena die with it */

    memset(out, 0, sizeof(*out));
    if (event->attr_count > 0) {
        out->attrs = vane_arena_alloc(arena, event->attr_count * sizeof(event->attrs[0]));
        memcpy(out->attrs, event->attrs, event->attr_count * sizeof(event->attrs[0]));
    }
    out->attr_count = out->attr_cap = event->attr_count;
    for (size_t i = 0; deep && i < out->attr_count; i++) {
        struct event_attr *attr = &out->attrs[i];

        attr->name = copy_into(arena, attr->name);
        if (attr->value.type != EVENT_BOOLEAN && attr->value.type != EVENT_INTEGER)
            attr->value.u.bytes = copy_into(arena, attr->value.u.bytes);
    }
    out->has_data = event->has_data;
    out->data = event->data;
    if (out->has_data && (deep || vev->releases != NULL))
        out->data = copy_into(arena, event->data);
    run_releases(vev);
    event_reset(&vev->event);
}

void plugin_event_finish(struct vane_event *vev)
{
    run_releases(vev);
    if (vev->owns_attrs)
        vane_free(vev->event.attrs);
    vev->event.attrs = NULL;
    vev->event.attr_count = vev->event.attr_cap = 0;
    vane_arena_free(&vev->own_arena);
}

void plugin_event_free(struct vane_event *vev)
{
    if (vev == NULL)
        return;
    plugin_event_finish(vev);
    vane_free(vev);
}

const struct event *plugin_event_get(const struct vane_event *vev)
{
    return &vev->event;
}

/*
 * transform_uppercase.c -- a transform plugin: upper-cases the named
 * string attributes of each event, and can emit a copy of the result.
 *
 * attributes lists the attributes to change ("subject" by default); one
 * the event lacks, or one that is not of type string, is left alone.
 * Letters a-z become A-Z; other bytes (UTF-8 included) stay as they are.
 * When copy_type is set, each event also yields a second one: the
 * upper-cased event with that type and its id followed by "-copy".
 *
 * A worked example of the SDK (doc/plugins.md): changing an event in place
 * with event_set (the host copies what it is given), making a new event
 * with event_new, and emitting it as an extra output.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vane/plugin.h>

#define NAME_MAX_LEN 255 /* CloudEvents attribute names are shorter */

struct uppercase {
    const struct vane_host *host;
    struct vane_instance *self;
    const char *copy_type; /* NULL: no copies */
};

static const struct vane_option options[] = {
    {"attributes", VANE_OPTION_LIST, "[\"subject\"]", 0,
     "The string attributes (or extensions) to upper-case."},
    {"copy_type", VANE_OPTION_STRING, NULL, 0,
     "When set, also emit a copy of each upper-cased event with this type and its id followed "
     "by \"-copy\"."},
    VANE_OPTIONS_END,
};

static int init(const struct vane_host *host, struct vane_instance *self, void **state)
{
    struct uppercase *u = calloc(1, sizeof(*u));

    if (u == NULL)
        return -12; /* -ENOMEM */
    u->host = host;
    u->self = self;
    u->copy_type = host->option_string(self, "copy_type");
    *state = u;
    return 0;
}

static void fini(void *state)
{
    free(state);
}

static int set_string(const struct uppercase *u, struct vane_event *ev, const char *name,
                      const char *text, size_t len)
{
    struct vane_value value = {.type = VANE_STRING, .ptr = text, .len = len};

    return u->host->event_set(ev, name, &value);
}

static int uppercase_one(const struct uppercase *u, struct vane_event *ev, const char *name)
{
    struct vane_value value;
    char *upper;
    int rc;

    if (!u->host->event_get(ev, name, &value) || value.type != VANE_STRING)
        return 0;
    if ((upper = malloc(value.len + 1)) == NULL)
        return -12;
    for (size_t i = 0; i < value.len; i++)
        upper[i] = value.ptr[i] >= 'a' && value.ptr[i] <= 'z' ? value.ptr[i] - 'a' + 'A'
                                                               : value.ptr[i];
    rc = set_string(u, ev, name, upper, value.len); /* the host copies; ours can go */
    free(upper);
    return rc;
}

/* A new event with ev's attributes and data, then type and id changed. */
static int emit_copy(const struct uppercase *u, const struct vane_event *ev)
{
    struct vane_event *copy = u->host->event_new(u->self);
    char name[NAME_MAX_LEN + 1], id[512];
    struct vane_value value;
    const char *attr, *data;
    size_t attr_len, data_len;
    int rc = 0;

    if (copy == NULL)
        return -12;
    for (size_t i = 0; rc == 0 && u->host->event_attr_at(ev, i, &attr, &attr_len, &value); i++) {
        snprintf(name, sizeof(name), "%.*s", (int)attr_len, attr);
        rc = u->host->event_set(copy, name, &value);
    }
    if (rc == 0 && u->host->event_get(ev, "id", &value)) {
        snprintf(id, sizeof(id), "%.*s-copy", (int)value.len, value.ptr);
        rc = set_string(u, copy, "id", id, strlen(id));
    }
    if (rc == 0)
        rc = set_string(u, copy, "type", u->copy_type, strlen(u->copy_type));
    if (rc == 0 && u->host->event_data(ev, &data, &data_len))
        rc = u->host->event_set_data(copy, data, data_len, NULL);
    if (rc != 0) {
        u->host->event_free(copy);
        return rc;
    }
    return u->host->emit(u->self, copy, NULL, NULL); /* the host takes copy */
}

static int transform(void *state, struct vane_event *ev)
{
    struct uppercase *u = state;
    size_t count = u->host->option_list_count(u->self, "attributes");
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < count; i++)
        rc = uppercase_one(u, ev, u->host->option_list_at(u->self, "attributes", i));
    if (rc == 0 && u->copy_type != NULL)
        rc = emit_copy(u, ev);
    if (rc != 0) {
        u->host->log(u->self, VANE_PLUGIN_LOG_ERROR, "could not change the event (%d)", rc);
        return rc;
    }
    return VANE_KEEP;
}

VANE_PLUGIN_DECLARE(.name = "transform-uppercase", .version = "1.0.0",
                    .kind = VANE_PLUGIN_TRANSFORM,
                    .description = "upper-cases the named string attributes of each event",
                    .options = options, .init = init, .fini = fini, .transform = transform);

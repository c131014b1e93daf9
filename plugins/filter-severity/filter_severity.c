/*
 * filter_severity.c -- a filter plugin: keeps the events whose severity is
 * at or above a minimum, drops the rest.
 *
 * The severity is an attribute of the event (an extension, "severity" by
 * default) holding one of a list of levels, least severe first (syslog's
 * by default), compared without regard to case; an integer value counts as
 * that position in the list (0 is the first).  An event without the
 * attribute, or with a value not in the list, is dropped unless
 * keep_unknown is true.  Dropped events are counted in the broker's
 * /metrics as vane_plugin_severity_dropped_total.
 *
 * A worked example of the SDK (doc/plugins.md): options declared as data,
 * an init that checks what the table cannot (min must be one of levels)
 * and says why it fails, a filter that reads the event without copying.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <vane/plugin.h>

struct severity {
    const struct vane_host *host;
    struct vane_instance *self;
    const char *attribute; /* option strings live until fini */
    size_t min_rank;
    int keep_unknown;
};

static const struct vane_option options[] = {
    {"attribute", VANE_OPTION_STRING, "\"severity\"", 0,
     "The attribute (usually an extension) that holds the event's severity."},
    {"min", VANE_OPTION_STRING, NULL, VANE_OPTION_REQUIRED,
     "The least severe level kept, one of levels."},
    {"levels", VANE_OPTION_LIST,
     "[\"debug\", \"info\", \"notice\", \"warning\", \"error\", \"critical\", \"alert\", "
     "\"emergency\"]",
     0, "The levels from least to most severe, compared without regard to case."},
    {"keep_unknown", VANE_OPTION_BOOL, "false", 0,
     "Keep events without the attribute, or with a level not in levels (else they are dropped)."},
    VANE_OPTIONS_END,
};

/* The position of the len bytes at text in levels, or -1. */
static long rank_of(const struct severity *s, const char *text, size_t len)
{
    size_t count = s->host->option_list_count(s->self, "levels");

    for (size_t i = 0; i < count; i++) {
        const char *level = s->host->option_list_at(s->self, "levels", i);

        if (strlen(level) == len && strncasecmp(level, text, len) == 0)
            return (long)i;
    }
    return -1;
}

static int init(const struct vane_host *host, struct vane_instance *self, void **state)
{
    struct severity *s = calloc(1, sizeof(*s));
    const char *min = host->option_string(self, "min");
    long rank;

    if (s == NULL)
        return -12; /* -ENOMEM */
    s->host = host;
    s->self = self;
    s->attribute = host->option_string(self, "attribute");
    s->keep_unknown = host->option_bool(self, "keep_unknown");
    if ((rank = rank_of(s, min, strlen(min))) < 0) {
        host->log(self, VANE_PLUGIN_LOG_ERROR, "option min: \"%s\" is not one of levels", min);
        free(s);
        return VANE_EINVAL;
    }
    s->min_rank = (size_t)rank;
    *state = s;
    return 0;
}

static void fini(void *state)
{
    free(state);
}

static int filter(void *state, const struct vane_event *ev)
{
    struct severity *s = state;
    struct vane_value value;
    long rank = -1;

    if (s->host->event_get(ev, s->attribute, &value)) {
        if (value.type == VANE_STRING)
            rank = rank_of(s, value.ptr, value.len);
        else if (value.type == VANE_INTEGER && value.integer >= 0 &&
                 (size_t)value.integer < s->host->option_list_count(s->self, "levels"))
            rank = (long)value.integer;
    }
    if (rank < 0 ? s->keep_unknown : (size_t)rank >= s->min_rank)
        return VANE_KEEP;
    s->host->metric_add(s->self, "severity_dropped", 1);
    return VANE_DROP;
}

VANE_PLUGIN_DECLARE(.name = "filter-severity", .version = "1.0.0", .kind = VANE_PLUGIN_FILTER,
                    .description = "keeps events whose severity is at or above a minimum",
                    .options = options, .init = init, .fini = fini, .filter = filter);

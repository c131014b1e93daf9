/*
 * good.c -- a well-formed test plugin (tests/test-plugins.c): a filter that
 * keeps events whose integer extension "level" is at least option min.
 * Built by the test with -DGOOD_VERSION='"2.0.0"' for a replacement.
 */
#include <stdlib.h>

#include <vane/plugin.h>

#ifndef GOOD_VERSION
#define GOOD_VERSION "1.0.0"
#endif

struct good {
    const struct vane_host *host;
    int64_t min;
};

static const struct vane_option options[] = {
    {"min", VANE_OPTION_INT, "1", 0, "The least level kept."},
    {"token", VANE_OPTION_STRING, "\"hidden\"", VANE_OPTION_SECRET, "A secret, never shown."},
    {"window", VANE_OPTION_DURATION, "\"2s\"", 0, "A duration."},
    {"name", VANE_OPTION_STRING, NULL, VANE_OPTION_REQUIRED, "A required string."},
    VANE_OPTIONS_END,
};

static int init(const struct vane_host *host, struct vane_instance *self, void **state)
{
    struct good *g = calloc(1, sizeof(*g));

    g->host = host;
    g->min = host->option_int(self, "min");
    *state = g;
    return 0;
}

static void fini(void *state)
{
    free(state);
}

static int filter(void *state, const struct vane_event *ev)
{
    struct good *g = state;
    struct vane_value level;

    if (!g->host->event_get(ev, "level", &level) || level.type != VANE_INTEGER)
        return VANE_DROP;
    return level.integer >= g->min ? VANE_KEEP : VANE_DROP;
}

VANE_PLUGIN_DECLARE(.name = "test-good", .version = GOOD_VERSION, .kind = VANE_PLUGIN_FILTER,
                    .description = "a test filter", .options = options, .init = init,
                    .fini = fini, .filter = filter);

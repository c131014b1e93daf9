/* bad-options.c -- an options table whose int option has a string default: refused. */
#include <vane/plugin.h>

static const struct vane_option options[] = {
    {"count", VANE_OPTION_INT, "\"many\"", 0, "Not an integer."},
    VANE_OPTIONS_END,
};

static int init(const struct vane_host *host, struct vane_instance *self, void **state)
{
    (void)host, (void)self, (void)state;
    return 0;
}

static int filter(void *state, const struct vane_event *ev)
{
    (void)state, (void)ev;
    return VANE_KEEP;
}

VANE_PLUGIN_DECLARE(.name = "test-bad-options", .version = "1.0.0", .kind = VANE_PLUGIN_FILTER,
                    .description = "a malformed options table", .options = options,
                    .init = init, .filter = filter);

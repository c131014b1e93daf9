/* duplicate.c -- a well-formed plugin named as good.c's: the second one is refused. */
#include <vane/plugin.h>

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

VANE_PLUGIN_DECLARE(.name = "test-good", .version = "9.9.9", .kind = VANE_PLUGIN_FILTER,
                    .description = "has good.c's name", .init = init, .filter = filter);

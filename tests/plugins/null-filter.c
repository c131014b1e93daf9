/* null-filter.c -- a filter plugin without a filter callback: refused. */
#include <vane/plugin.h>

static int init(const struct vane_host *host, struct vane_instance *self, void **state)
{
    (void)host, (void)self, (void)state;
    return 0;
}

VANE_PLUGIN_DECLARE(.name = "test-null-filter", .version = "1.0.0", .kind = VANE_PLUGIN_FILTER,
                    .description = "forgot its callback", .init = init);

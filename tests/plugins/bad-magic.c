/* bad-magic.c -- a descriptor whose magic is not VANE_PLUGIN_MAGIC: refused. */
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

__attribute__((visibility("default"))) const struct vane_plugin vane_plugin = {
    .magic = 0xdeadbeefu, .abi_major = VANE_ABI_MAJOR, .abi_minor = VANE_ABI_MINOR,
    .struct_size = sizeof(struct vane_plugin), .name = "test-bad-magic",
    .kind = VANE_PLUGIN_FILTER, .init = init, .filter = filter,
};

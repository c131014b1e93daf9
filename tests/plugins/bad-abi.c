/* bad-abi.c -- a descriptor of ABI major 99: refused, naming both versions. */
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
    .magic = VANE_PLUGIN_MAGIC, .abi_major = 99, .abi_minor = 0,
    .struct_size = sizeof(struct vane_plugin), .name = "test-bad-abi",
    .kind = VANE_PLUGIN_FILTER, .init = init, .filter = filter,
};

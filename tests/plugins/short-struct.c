/* short-struct.c -- a descriptor claiming fewer bytes than ABI 1.0's: refused. */
#include <vane/plugin.h>

__attribute__((visibility("default"))) const struct vane_plugin vane_plugin = {
    .magic = VANE_PLUGIN_MAGIC, .abi_major = VANE_ABI_MAJOR, .abi_minor = 0,
    .struct_size = 16, .name = "test-short",
};

/* no-symbol.c -- a shared object without the "vane_plugin" symbol: refused. */
#include <vane/plugin.h>

__attribute__((visibility("default"))) int not_a_plugin(void);

int not_a_plugin(void)
{
    return 42;
}

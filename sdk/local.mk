# sdk/local.mk -- the plugin SDK: vane/plugin.h and vane-sdk.pc, installed
# so that plugins build out of tree:
#
#     cc -shared -fPIC $(pkg-config --cflags vane-sdk) -o my.so my.c
#
# The header lands at $(includedir)/vane/plugin.h and the .pc file, which
# configure makes from sdk/vane-sdk.pc.in, at $(libdir)/pkgconfig.

vaneincludedir = $(includedir)/vane
vaneinclude_HEADERS = sdk/vane/plugin.h

pkgconfigdir = $(libdir)/pkgconfig
pkgconfig_DATA = sdk/vane-sdk.pc

EXTRA_DIST += sdk/CHANGELOG.md

# The broker looks for installed plugins and connectors under $(pkglibdir)
# (broker/plugin/plugin_registry.c).  (It builds against the SDK header
# through AM_CPPFLAGS's -I$(top_srcdir)/sdk.)
AM_CPPFLAGS += -DVANE_PKGLIBDIR='"$(pkglibdir)"'

# plugins/local.mk -- the filter and transform plugins shipped with Vane,
# worked examples of the SDK (doc/plugins.md walks through them).
#
# Each is a libtool module built into the build directory's plugins/ folder
# (plugins/filter-severity.la, its .so under plugins/.libs/), where a vaned
# of that build directory finds it, and installed into $(pkglibdir)/plugins.
# Only the SDK header is on their include path and nothing of the broker is
# linked: a plugin reaches the broker only through struct vane_host.

plugindir = $(pkglibdir)/plugins
plugin_LTLIBRARIES = plugins/filter-severity.la plugins/transform-uppercase.la

PLUGIN_CPPFLAGS = -I$(top_srcdir)/sdk
PLUGIN_CFLAGS = $(WARN_CFLAGS) $(SANITIZE_CFLAGS)
PLUGIN_LDFLAGS = $(AM_LDFLAGS) -module -avoid-version -shared

plugins_filter_severity_la_SOURCES = plugins/filter-severity/filter_severity.c
plugins_filter_severity_la_CPPFLAGS = $(PLUGIN_CPPFLAGS)
plugins_filter_severity_la_CFLAGS = $(PLUGIN_CFLAGS)
plugins_filter_severity_la_LDFLAGS = $(PLUGIN_LDFLAGS)

plugins_transform_uppercase_la_SOURCES = plugins/transform-uppercase/transform_uppercase.c
plugins_transform_uppercase_la_CPPFLAGS = $(PLUGIN_CPPFLAGS)
plugins_transform_uppercase_la_CFLAGS = $(PLUGIN_CFLAGS)
plugins_transform_uppercase_la_LDFLAGS = $(PLUGIN_LDFLAGS)

EXTRA_DIST += plugins/filter-severity/README.md plugins/transform-uppercase/README.md

# etc/local.mk -- the default configuration, installed as $(sysconfdir)/vane/vaned.lua.

vaneconfdir = $(sysconfdir)/vane
dist_vaneconf_DATA = etc/vaned.lua

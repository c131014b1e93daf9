# vanectl/local.mk -- the command-line client.
#
# Everything but main.c is a convenience library, so tests/test-vanectl can
# unit-test the parsers and encoders that the real program uses.

noinst_LTLIBRARIES += vanectl/libvanectl.la
vanectl_libvanectl_la_SOURCES = vanectl/vanectl.h \
	vanectl/command.c \
	vanectl/eventbus.c \
	vanectl/event.c vanectl/event.h \
	vanectl/subscription.c \
	vanectl/connector.c \
	vanectl/plugin.c \
	vanectl/script.c \
	vanectl/cluster.c \
	vanectl/client.c vanectl/client.h \
	vanectl/encode.c vanectl/encode.h \
	vanectl/output.c vanectl/output.h \
	vanectl/parse.c vanectl/parse.h

bin_PROGRAMS += vanectl/vanectl
vanectl_vanectl_SOURCES = vanectl/main.c
vanectl_vanectl_LDADD = vanectl/libvanectl.la libvane.la

# vanectl/local.mk -- the command-line client.

bin_PROGRAMS += vanectl/vanectl
vanectl_vanectl_SOURCES = vanectl/main.c \
	vanectl/client.c vanectl/client.h \
	vanectl/output.c vanectl/output.h
vanectl_vanectl_LDADD = libvane.la

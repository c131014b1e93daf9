# connectors/local.mk -- the source and sink connectors shipped with Vane.
#
# Each is a libtool module built into the build directory's connectors/
# folder (connectors/sink-http.la, its .so under connectors/.libs/) and
# installed into $(pkglibdir)/connectors, where vaned looks for them.  They
# see the broker only through the SDK header: CPPFLAGS name sdk/ and the
# libraries each uses, never broker/, and nothing of libvane is linked.
# connectors/libconnector.la is what they share (a byte buffer, events as
# JSON, a source's HTTP answers, whole writes to a file), linked into each
# module.

connectordir = $(pkglibdir)/connectors
connector_LTLIBRARIES = connectors/sink-stdout.la connectors/sink-http.la \
	connectors/source-http.la connectors/source-git.la
connector_LTLIBRARIES += connectors/source-github.la

CONNECTOR_CPPFLAGS = -I$(top_srcdir)/sdk
CONNECTOR_CFLAGS = -fvisibility=hidden $(WARN_CFLAGS) $(SANITIZE_CFLAGS) $(JANSSON_CFLAGS)
CONNECTOR_LDFLAGS = $(AM_LDFLAGS) -module -avoid-version -shared

noinst_LTLIBRARIES += connectors/libconnector.la
connectors_libconnector_la_SOURCES = \
	connectors/common/strbuf.c connectors/common/strbuf.h \
	connectors/common/event_format.c connectors/common/event_format.h \
	connectors/common/http_answer.c connectors/common/http_answer.h \
	broker/core/write_all.c broker/core/write_all.h
connectors_libconnector_la_CPPFLAGS = $(CONNECTOR_CPPFLAGS)
connectors_libconnector_la_CFLAGS = $(CONNECTOR_CFLAGS)
connectors_libconnector_la_LIBADD = $(JANSSON_LIBS)

connectors_sink_stdout_la_SOURCES = connectors/sink-stdout/sink_stdout.c
connectors_sink_stdout_la_CPPFLAGS = $(CONNECTOR_CPPFLAGS)
connectors_sink_stdout_la_CFLAGS = $(CONNECTOR_CFLAGS)
connectors_sink_stdout_la_LDFLAGS = $(CONNECTOR_LDFLAGS)
connectors_sink_stdout_la_LIBADD = connectors/libconnector.la

connectors_sink_http_la_SOURCES = connectors/sink-http/sink_http.c \
	connectors/sink-http/outgoing.c connectors/sink-http/outgoing.h \
	connectors/sink-http/vanus.c
connectors_sink_http_la_CPPFLAGS = $(CONNECTOR_CPPFLAGS)
connectors_sink_http_la_CFLAGS = $(CONNECTOR_CFLAGS) $(CURL_CFLAGS)
connectors_sink_http_la_LDFLAGS = $(CONNECTOR_LDFLAGS)
connectors_sink_http_la_LIBADD = connectors/libconnector.la $(CURL_LIBS)

connectors_source_http_la_SOURCES = connectors/source-http/source_http.c
connectors_source_http_la_CPPFLAGS = $(CONNECTOR_CPPFLAGS)
connectors_source_http_la_CFLAGS = $(CONNECTOR_CFLAGS)
connectors_source_http_la_LDFLAGS = $(CONNECTOR_LDFLAGS)
connectors_source_http_la_LIBADD = connectors/libconnector.la

connectors_source_git_la_SOURCES = connectors/source-git/source_git.c \
	connectors/source-git/repo_poll.c connectors/source-git/repo_poll.h \
	connectors/source-git/ref_state.c connectors/source-git/ref_state.h
connectors_source_git_la_CPPFLAGS = $(CONNECTOR_CPPFLAGS)
connectors_source_git_la_CFLAGS = $(CONNECTOR_CFLAGS) $(GIT2_CFLAGS)
# -z nodelete: libgit2 keeps an error state per thread of the host's thread
# pool, freed by a destructor in libgit2 when such a thread ends; unloading
# the plugin (and libgit2 with it) before then would leave the threads a
# destructor pointing nowhere.  So once loaded, source-git stays (source_git.c).
connectors_source_git_la_LDFLAGS = $(CONNECTOR_LDFLAGS) -Wl,-z,nodelete
connectors_source_git_la_LIBADD = connectors/libconnector.la $(GIT2_LIBS)

# GitHub webhooks (doc/github.md): HMAC-SHA256 and SHA-256 from libcrypto.
connectors_source_github_la_SOURCES = connectors/source-github/source_github.c \
	connectors/source-github/github_map.c connectors/source-github/github_map.h \
	connectors/source-github/signature.c connectors/source-github/signature.h \
	connectors/source-github/delivery_log.c connectors/source-github/delivery_log.h
connectors_source_github_la_CPPFLAGS = $(CONNECTOR_CPPFLAGS)
connectors_source_github_la_CFLAGS = $(CONNECTOR_CFLAGS) $(OPENSSL_CFLAGS)
connectors_source_github_la_LDFLAGS = $(CONNECTOR_LDFLAGS)
connectors_source_github_la_LIBADD = connectors/libconnector.la $(OPENSSL_LIBS)
EXTRA_DIST += connectors/source-github/README.md

EXTRA_DIST += connectors/sink-stdout/README.md connectors/sink-http/README.md \
	connectors/source-http/README.md connectors/source-git/README.md

# The options tables of doc/connectors.md and of each connector's README.md
# come from the connectors' own declarations: `make connectors-doc` rewrites
# them, and tests/test-connectors-doc.sh (make check) fails when one is stale.
noinst_PROGRAMS += connectors/options-doc
connectors_options_doc_SOURCES = connectors/options-doc.c
connectors_options_doc_LDADD = libvane.la
CONNECTOR_DOCS = $(srcdir)/doc/connectors.md $(srcdir)/connectors/sink-stdout/README.md \
	$(srcdir)/connectors/sink-http/README.md $(srcdir)/connectors/source-http/README.md \
	$(srcdir)/connectors/source-git/README.md
CONNECTOR_DOCS += $(srcdir)/connectors/source-github/README.md $(srcdir)/doc/github.md

connectors-doc: connectors/options-doc$(EXEEXT) $(connector_LTLIBRARIES)
	connectors/options-doc$(EXEEXT) $(CONNECTOR_DOCS) -- $(connector_LTLIBRARIES)

.PHONY: connectors-doc

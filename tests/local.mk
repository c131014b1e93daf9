# tests/local.mk -- make check: one TAP program per module, run by Automake's
# parallel harness with its TAP driver.  make check-valgrind runs the same
# programs, and the vaned they start, under valgrind.

LOG_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) $(top_srcdir)/build-aux/tap-driver.sh
AM_TESTS_ENVIRONMENT = \
	VANED='$(abs_top_builddir)/vaned'; export VANED; \
	VANECTL='$(abs_top_builddir)/vanectl/vanectl'; export VANECTL; \
	CRASH_WRITER='$(abs_top_builddir)/tests/crash-writer'; export CRASH_WRITER; \
	SINK_SERVER='$(abs_top_builddir)/tests/sink-server'; export SINK_SERVER; \
	VANE_SRCDIR='$(abs_top_srcdir)'; export VANE_SRCDIR; \
	VANE_CC='$(CC)'; export VANE_CC; \
	VANE_PLUGINS_BUILDDIR='$(abs_top_builddir)/plugins'; export VANE_PLUGINS_BUILDDIR; \
	VANE_CONNECTORS_BUILDDIR='$(abs_top_builddir)/connectors'; export VANE_CONNECTORS_BUILDDIR; \
	VANE_VALGRIND='$(VANE_VALGRIND)'; export VANE_VALGRIND; \
	VANE_TEST_TIME_SCALE='$(VANE_TEST_TIME_SCALE)'; export VANE_TEST_TIME_SCALE;

check_LTLIBRARIES = tests/libharness.la
tests_libharness_la_SOURCES = tests/tap.c tests/tap.h tests/harness.c tests/harness.h \
	tests/harness_cluster.c tests/harness_cluster.h tests/harness_netns.c tests/harness_netns.h

# Every test program is tests/test-<module>.c linked with the harness and
# the broker; programs installed by the other parts set their own LDADD.
LDADD = tests/libharness.la libvane.la
# test-vanectl also unit-tests vanectl's parsers and encoders.
tests_test_vanectl_LDADD = vanectl/libvanectl.la $(LDADD)

unit_tests = tests/test-core tests/test-config tests/test-record tests/test-eventlog tests/test-store
unit_tests += tests/test-event-json tests/test-controller
# The peer port: channels over real sockets, and raft groups over it.
unit_tests += tests/test-peer
integration_tests = tests/test-vaned tests/test-vanectl tests/test-crash tests/test-metrics tests/test-admin
integration_tests += tests/test-publish tests/test-http-client tests/test-trigger
check_PROGRAMS += tests/crash-writer
# The HTTP sink the delivery tests send to (tests/sink-server.c); test-sink-server tests it.
check_PROGRAMS += tests/sink-server
tests_sink_server_LDADD = libvane.la
integration_tests += tests/test-sink-server
integration_tests += tests/test-subscriptions
# Three vaned processes as one cluster: replication, forwarding, failover.
integration_tests += tests/test-cluster
# The leader of an eventlog partitioned off: stopped with SIGSTOP, and (as
# root) cut off in a network namespace of its own (tests/harness_netns.c).
integration_tests += tests/test-cluster-partition
# A subscription keeps delivering, at least once, when the node running delivery is killed.
integration_tests += tests/test-cluster-delivery
# A follower far behind raft's snapshots catches up from the leader's segments.
integration_tests += tests/test-cluster-catchup
# Four nodes, replicas 3: each eventlog's fourth replica a standby that serves it.
integration_tests += tests/test-cluster-four
# A fourth node joins (replicas move onto it) and leaves (they move back), with no loss.
integration_tests += tests/test-cluster-membership
# A damaged eventlog (a byte flipped under a leader) hands the lead on; no acknowledged event is lost.
integration_tests += tests/test-cluster-damage
check_PROGRAMS += $(unit_tests) $(integration_tests)
TESTS += $(unit_tests) $(integration_tests)

# libraft writes buffers it does not fully initialise (tests/valgrind-libraft.supp).
VALGRIND_FLAGS = --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
	--suppressions=$(top_srcdir)/tests/valgrind-libraft.supp
EXTRA_DIST += tests/valgrind-libraft.supp

# The test programs and the vaned they start, both under valgrind; the
# deadlines in the harness stretch by VANE_TEST_TIME_SCALE.
check-valgrind: $(check_PROGRAMS) $(bin_PROGRAMS)
	@test -n "$(VALGRIND)" || { echo "valgrind not found: apt-get install valgrind"; exit 1; }
	$(MAKE) $(AM_MAKEFLAGS) check \
		LOG_COMPILER='$(VALGRIND) $(VALGRIND_FLAGS)' \
		VANE_VALGRIND='$(VALGRIND)' VANE_TEST_TIME_SCALE=20

.PHONY: check-valgrind

# CESQL, with the CloudEvents SQL TCK it runs (a copy, see its README).
unit_tests += tests/test-cesql
EXTRA_DIST += tests/data/cesql-tck

# The Subscriptions API filter dialects.
unit_tests += tests/test-filter

# Vanus's transformer (define, pipeline, template).
unit_tests += tests/test-transform

# doc/connectors.md's options tables match what the connectors declare (connectors/options-doc.c).
TESTS += tests/test-connectors-doc.sh
EXTRA_DIST += tests/test-connectors-doc.sh

# .so plugins: built by the test itself ($VANE_CC, tests/plugins/*.c) and
# the examples the build made ($VANE_PLUGINS_BUILDDIR), loaded in process and
# dropped into the folder a real vaned watches.
integration_tests += tests/test-plugins
EXTRA_DIST += tests/plugins

# The shipped connectors (connectors/) driven one by one on the test's own loop
# (tests/connector-host.c, a host table like the engine's worker's).
integration_tests += tests/test-connector-plugins
tests_test_connector_plugins_SOURCES = tests/test-connector-plugins.c \
	tests/connector-host.c tests/connector-host.h

# The connector engine: worker processes, a crashing sink plugin built by the
# test (tests/plugins/sink-crashy.c), scaling 0 -> max -> 0, sources on demand.
integration_tests += tests/test-engine

# The shipped connectors run by vaned's connector engine (sink-stdout,
# sink-http, source-http, source-git), against real files, the HTTP sink
# and a git repository made with the git command.
integration_tests += tests/test-connectors

# The GitHub webhook connector (connectors/source-github) on GitHub's own
# example payloads: the npm package @octokit/webhooks-examples, which
# ./quickstart.sh installs under ~/.cache/vane/npm ($XDG_CACHE_HOME); set
# VANE_GITHUB_EXAMPLES to use another copy.  The test also opens the
# connector's delivery record itself (delivery_log.c, with libcrypto).
integration_tests += tests/test-github
tests_test_github_SOURCES = tests/test-github.c connectors/source-github/delivery_log.c \
	connectors/source-github/delivery_log.h
tests_test_github_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS)
tests_test_github_LDADD = connectors/libconnector.la $(LDADD) $(OPENSSL_LIBS)
AM_TESTS_ENVIRONMENT += \
	VANE_GITHUB_EXAMPLES="$${VANE_GITHUB_EXAMPLES:-$${XDG_CACHE_HOME:-$$HOME/.cache}/vane/npm/node_modules/@octokit/webhooks-examples}"; \
	export VANE_GITHUB_EXAMPLES;

# Lua scripts: the registry, the sandbox, reload, the shipped scripts, the API.
integration_tests += tests/test-lua

# raft's storage in Vane's own files (broker/raft/log_io.c), and a real raft on top of it.
unit_tests += tests/test-log-io

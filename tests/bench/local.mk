# tests/bench/local.mk -- make bench: benchmark programs that print figures.
#
# Benchmarks are EXTRA_PROGRAMS: neither `make` nor `make check` builds
# them, and they are never timed tests.  `make bench` builds them and runs
# them once; BENCH_FLAGS passes options through, for instance
#
#     make bench BENCH_FLAGS=--quick
#     make bench BENCH_FLAGS='--dir /data/vane-bench --duration 10'
#
# Each program links the broker's convenience library directly (not the
# test harness), so it drives the store in-process.

# What the four programs share (options, formatting, the table of figures,
# the run's directory): compiled into each, so each still builds alone.
bench_util_sources = tests/bench/bench-util.c tests/bench/bench-util.h
# For the benchmarks that run vaned (they link the test harness).
bench_vaned_sources = tests/bench/bench-vaned.c tests/bench/bench-vaned.h

EXTRA_PROGRAMS += tests/bench/bench-store
tests_bench_bench_store_SOURCES = tests/bench/bench-store.c $(bench_util_sources)
tests_bench_bench_store_LDADD = libvane.la
CLEANFILES += tests/bench/bench-store

# bench-gateway drives the built vaned with wrk and redis-benchmark (it says
# how to install them when they are missing) and links the test harness.
EXTRA_PROGRAMS += tests/bench/bench-gateway
tests_bench_bench_gateway_SOURCES = tests/bench/bench-gateway.c $(bench_util_sources) \
	$(bench_vaned_sources)
tests_bench_bench_gateway_LDADD = tests/libharness.la libvane.la
CLEANFILES += tests/bench/bench-gateway

# bench-filter evaluates subscription filters in-process on stored-like events.
EXTRA_PROGRAMS += tests/bench/bench-filter
tests_bench_bench_filter_SOURCES = tests/bench/bench-filter.c $(bench_util_sources)
tests_bench_bench_filter_LDADD = libvane.la
CLEANFILES += tests/bench/bench-filter

# bench-trigger drives the built vaned and the test sink (tests/sink-server)
# over HTTP; its own load and its reference client are the trigger's HTTP
# client (libcurl multi on a libuv loop), linked from libvane.
EXTRA_PROGRAMS += tests/bench/bench-trigger
tests_bench_bench_trigger_SOURCES = tests/bench/bench-trigger.c $(bench_util_sources)
tests_bench_bench_trigger_LDADD = tests/libharness.la libvane.la
CLEANFILES += tests/bench/bench-trigger

bench: tests/bench/bench-store tests/bench/bench-gateway tests/bench/bench-filter \
		tests/bench/bench-trigger tests/sink-server$(EXEEXT) vaned$(EXEEXT)
	./tests/bench/bench-store $(BENCH_FLAGS)
	./tests/bench/bench-gateway --vaned ./vaned$(EXEEXT) $(BENCH_FLAGS)
	./tests/bench/bench-filter $(BENCH_FLAGS)
	./tests/bench/bench-trigger --vaned ./vaned$(EXEEXT) --sink ./tests/sink-server$(EXEEXT) \
		$(BENCH_FLAGS)

.PHONY: bench

# bench-lua calls a Lua transform through the script API (script.h) in-process,
# beside the same loop copying the events only.  `make bench` runs it too.
EXTRA_PROGRAMS += tests/bench/bench-lua
tests_bench_bench_lua_SOURCES = tests/bench/bench-lua.c $(bench_util_sources)
tests_bench_bench_lua_LDADD = libvane.la
CLEANFILES += tests/bench/bench-lua
bench: bench-lua
bench-lua: tests/bench/bench-lua
	./tests/bench/bench-lua $(BENCH_FLAGS)
.PHONY: bench-lua

# bench-engine: the figures of issue 6.  A Lua transform in the trigger's
# delivery path with a null sink, in-process; then, against the built vaned
# and its connectors, a source connector's cold start and a sink connector
# scaling out and back under a slow tests/sink-server.  `make bench` runs it.
EXTRA_PROGRAMS += tests/bench/bench-engine
tests_bench_bench_engine_SOURCES = tests/bench/bench-engine.c $(bench_util_sources) \
	$(bench_vaned_sources)
tests_bench_bench_engine_LDADD = tests/libharness.la libvane.la
CLEANFILES += tests/bench/bench-engine
bench: bench-engine
bench-engine: tests/bench/bench-engine tests/sink-server$(EXEEXT) vaned$(EXEEXT) \
		$(connector_LTLIBRARIES)
	./tests/bench/bench-engine --vaned ./vaned$(EXEEXT) --sink ./tests/sink-server$(EXEEXT) \
		--connectors ./connectors $(BENCH_FLAGS)
.PHONY: bench-engine

# bench-cluster: the figures of issue 8.  Publish through a three-node
# cluster of the built vaned (tests/harness_cluster.h) beside one vaned
# under the same wrk load, then the time from kill -9 of an eventlog's
# leader to the next publish acknowledged.  `make bench` runs it.
EXTRA_PROGRAMS += tests/bench/bench-cluster
tests_bench_bench_cluster_SOURCES = tests/bench/bench-cluster.c $(bench_util_sources) \
	$(bench_vaned_sources)
tests_bench_bench_cluster_LDADD = tests/libharness.la libvane.la
CLEANFILES += tests/bench/bench-cluster
bench: bench-cluster
bench-cluster: tests/bench/bench-cluster vaned$(EXEEXT)
	./tests/bench/bench-cluster --vaned ./vaned$(EXEEXT) $(BENCH_FLAGS)
.PHONY: bench-cluster

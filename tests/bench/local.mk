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

EXTRA_PROGRAMS += tests/bench/bench-store
tests_bench_bench_store_SOURCES = tests/bench/bench-store.c
tests_bench_bench_store_LDADD = libvane.la
CLEANFILES += tests/bench/bench-store

bench: tests/bench/bench-store
	./tests/bench/bench-store $(BENCH_FLAGS)

.PHONY: bench

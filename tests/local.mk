# tests/local.mk -- make check: one TAP program per module, run by Automake's
# parallel harness with its TAP driver.  make check-valgrind runs the same
# programs, and the vaned they start, under valgrind.

LOG_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) $(top_srcdir)/build-aux/tap-driver.sh
AM_TESTS_ENVIRONMENT = \
	VANED='$(abs_top_builddir)/vaned'; export VANED; \
	VANECTL='$(abs_top_builddir)/vanectl/vanectl'; export VANECTL; \
	VANE_SRCDIR='$(abs_top_srcdir)'; export VANE_SRCDIR; \
	VANE_VALGRIND='$(VANE_VALGRIND)'; export VANE_VALGRIND; \
	VANE_TEST_TIME_SCALE='$(VANE_TEST_TIME_SCALE)'; export VANE_TEST_TIME_SCALE;

check_LTLIBRARIES = tests/libharness.la
tests_libharness_la_SOURCES = tests/tap.c tests/tap.h tests/harness.c tests/harness.h
tests_libharness_la_CFLAGS = $(AM_CFLAGS) $(DEP_CFLAGS)

TEST_CFLAGS = $(AM_CFLAGS) $(DEP_CFLAGS) -I$(top_srcdir)/tests
TEST_LDADD = tests/libharness.la libvane.la

unit_tests = tests/test-core tests/test-config
integration_tests = tests/test-vaned tests/test-vanectl
check_PROGRAMS += $(unit_tests) $(integration_tests)
TESTS += $(unit_tests) $(integration_tests)

tests_test_core_SOURCES = tests/test-core.c
tests_test_core_CFLAGS = $(TEST_CFLAGS)
tests_test_core_LDADD = $(TEST_LDADD)
tests_test_config_SOURCES = tests/test-config.c
tests_test_config_CFLAGS = $(TEST_CFLAGS)
tests_test_config_LDADD = $(TEST_LDADD)
tests_test_vaned_SOURCES = tests/test-vaned.c
tests_test_vaned_CFLAGS = $(TEST_CFLAGS)
tests_test_vaned_LDADD = $(TEST_LDADD)
tests_test_vanectl_SOURCES = tests/test-vanectl.c
tests_test_vanectl_CFLAGS = $(TEST_CFLAGS)
tests_test_vanectl_LDADD = $(TEST_LDADD)

VALGRIND_FLAGS = --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite

# The test programs and the vaned they start, both under valgrind; the
# deadlines in the harness stretch by VANE_TEST_TIME_SCALE.
check-valgrind: $(check_PROGRAMS) $(bin_PROGRAMS)
	@test -n "$(VALGRIND)" || { echo "valgrind not found: apt-get install valgrind"; exit 1; }
	$(MAKE) $(AM_MAKEFLAGS) check \
		LOG_COMPILER='$(VALGRIND) $(VALGRIND_FLAGS)' \
		VANE_VALGRIND='$(VALGRIND)' VANE_TEST_TIME_SCALE=20

.PHONY: check-valgrind

# tests/fuzz/local.mk -- fuzz targets for every parser of outside input.
#
# A target is tests/fuzz/fuzz-<name>.c, defining LLVMFuzzerTestOneInput(),
# with its seed corpus in tests/fuzz/corpus/<name>/.  It is built twice:
#
#   tests/fuzz/replay-<name>  the target with replay.c's main(), a TAP test
#                             that runs every file of the corpus once (make
#                             check, with the build's sanitizers; the corpus
#                             is found through VANE_SRCDIR, which
#                             tests/local.mk exports, or FUZZ_CORPUS);
#   make fuzz-<name>          the target with clang's libFuzzer, address and
#                             undefined-behaviour sanitizers, for real fuzzing.
#                             Never part of make or make check.  Run it with
#                             a scratch directory first, so that new inputs
#                             land there, not in the source tree:
#
#       make fuzz-record
#       mkdir -p fuzz-new && tests/fuzz/fuzz-record -max_total_time=60 \
#           fuzz-new $(srcdir)/tests/fuzz/corpus/record
#
#   A crash leaves crash-<sha1> in the current directory; once the bug is
#   fixed, add it to the corpus so make check replays it for good.
#
# The libFuzzer build compiles the broker sources the target needs itself,
# with coverage instrumentation, instead of linking libvane.la, which the
# configured compiler built without it.

fuzz_replays = tests/fuzz/replay-record
check_PROGRAMS += $(fuzz_replays)
TESTS += $(fuzz_replays)

tests_fuzz_replay_record_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz-record.c
tests_fuzz_replay_record_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_TARGET='"record"'
tests_fuzz_replay_record_LDADD = libvane.la

# Writes the seed corpus again from the encoder (see its top comment); only
# needed when the record format changes.
EXTRA_PROGRAMS += tests/fuzz/make-record-corpus
tests_fuzz_make_record_corpus_SOURCES = tests/fuzz/make-record-corpus.c
tests_fuzz_make_record_corpus_LDADD = libvane.la
CLEANFILES += tests/fuzz/make-record-corpus

# A directory in EXTRA_DIST is copied whole, so a new corpus file ships
# without being listed here.
EXTRA_DIST += tests/fuzz/corpus

FUZZ_CC = clang
FUZZ_CFLAGS = -g -O1 -Wall -Wextra -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined
FUZZ_CPPFLAGS = -I$(top_srcdir)/broker -I$(top_builddir) -D_GNU_SOURCE
fuzz_record_sources = $(srcdir)/tests/fuzz/fuzz-record.c $(srcdir)/broker/store/record.c \
	$(srcdir)/broker/event/event.c $(srcdir)/broker/core/crc32c.c $(srcdir)/broker/core/alloc.c

fuzz-record: tests/fuzz/fuzz-record

tests/fuzz/fuzz-record: $(fuzz_record_sources)
	@command -v $(FUZZ_CC) >/dev/null 2>&1 || { \
		echo "make fuzz-record: $(FUZZ_CC) not found; libFuzzer needs clang" \
			"(apt-get install clang, or make FUZZ_CC=/path/to/clang)" >&2; \
		exit 1; }
	@$(MKDIR_P) tests/fuzz
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -o $@ $(fuzz_record_sources)

CLEANFILES += tests/fuzz/fuzz-record

.PHONY: fuzz-record

# The HTTP binding (gateway/binding.c) with the JSON format, percent-decoding
# and validation behind it; its input framing is described at the top of
# fuzz-binding.c.  Run it like the record target:
#
#       make fuzz-binding
#       mkdir -p fuzz-new && tests/fuzz/fuzz-binding -max_total_time=60 \
#           fuzz-new $(srcdir)/tests/fuzz/corpus/binding
fuzz_replays += tests/fuzz/replay-binding

tests_fuzz_replay_binding_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz-binding.c
tests_fuzz_replay_binding_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_TARGET='"binding"'
tests_fuzz_replay_binding_LDADD = libvane.la

fuzz_binding_sources = $(srcdir)/tests/fuzz/fuzz-binding.c $(srcdir)/broker/gateway/binding.c \
	$(srcdir)/broker/event/event_json.c $(srcdir)/broker/event/event_check.c \
	$(srcdir)/broker/event/timestamp.c $(srcdir)/broker/event/event.c \
	$(srcdir)/broker/core/json_span.c $(srcdir)/broker/core/arena.c \
	$(srcdir)/broker/core/buf.c $(srcdir)/broker/core/alloc.c

fuzz-binding: tests/fuzz/fuzz-binding

tests/fuzz/fuzz-binding: $(fuzz_binding_sources)
	@command -v $(FUZZ_CC) >/dev/null 2>&1 || { \
		echo "make fuzz-binding: $(FUZZ_CC) not found; libFuzzer needs clang" \
			"(apt-get install clang, or make FUZZ_CC=/path/to/clang)" >&2; \
		exit 1; }
	@$(MKDIR_P) tests/fuzz
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(JANSSON_CFLAGS) $(OPENSSL_CFLAGS) $(FUZZ_CFLAGS) -o $@ \
		$(fuzz_binding_sources) $(JANSSON_LIBS) $(OPENSSL_LIBS)

CLEANFILES += tests/fuzz/fuzz-binding

.PHONY: fuzz-binding

# CESQL (filter/cesql.h): the compiler on any bytes, and the evaluator on
# whatever it accepts, against a fixed event (see the top of fuzz-cesql.c).
# Run it like the record target:
#
#       make fuzz-cesql
#       mkdir -p fuzz-new && tests/fuzz/fuzz-cesql -max_total_time=60 \
#           fuzz-new $(srcdir)/tests/fuzz/corpus/cesql
fuzz_replays += tests/fuzz/replay-cesql

tests_fuzz_replay_cesql_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz-cesql.c
tests_fuzz_replay_cesql_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_TARGET='"cesql"'
tests_fuzz_replay_cesql_LDADD = libvane.la

fuzz_cesql_sources = $(srcdir)/tests/fuzz/fuzz-cesql.c $(srcdir)/broker/filter/cesql.c \
	$(srcdir)/broker/filter/cesql_parse.c $(srcdir)/broker/filter/cesql_func.c \
	$(srcdir)/broker/filter/cesql_text.c $(srcdir)/broker/event/event.c \
	$(srcdir)/broker/core/arena.c $(srcdir)/broker/core/alloc.c

fuzz-cesql: tests/fuzz/fuzz-cesql

tests/fuzz/fuzz-cesql: $(fuzz_cesql_sources)
	@command -v $(FUZZ_CC) >/dev/null 2>&1 || { \
		echo "make fuzz-cesql: $(FUZZ_CC) not found; libFuzzer needs clang" \
			"(apt-get install clang, or make FUZZ_CC=/path/to/clang)" >&2; \
		exit 1; }
	@$(MKDIR_P) tests/fuzz
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -o $@ $(fuzz_cesql_sources)

CLEANFILES += tests/fuzz/fuzz-cesql

.PHONY: fuzz-cesql

# Vanus's transformer (transform/transform.h): any bytes as the transformer
# JSON, compiled, and applied to fixed events when it compiles (see the top
# of fuzz-transform.c).  Strings an action makes are capped at 64 KiB here
# instead of 4 MiB (see TF_MAX_TEXT), so inputs that grow one to the cap stay
# fast under ASan.  Run it like the record target:
#
#       make fuzz-transform
#       mkdir -p fuzz-new && tests/fuzz/fuzz-transform -max_total_time=60 \
#           fuzz-new $(srcdir)/tests/fuzz/corpus/transform
fuzz_replays += tests/fuzz/replay-transform

tests_fuzz_replay_transform_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz-transform.c
tests_fuzz_replay_transform_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_TARGET='"transform"'
tests_fuzz_replay_transform_LDADD = libvane.la

fuzz_transform_sources = $(srcdir)/tests/fuzz/fuzz-transform.c \
	$(srcdir)/broker/transform/transform.c $(srcdir)/broker/transform/transform_path.c \
	$(srcdir)/broker/transform/transform_work.c $(srcdir)/broker/transform/transform_value.c \
	$(srcdir)/broker/transform/transform_arg.c $(srcdir)/broker/transform/transform_action.c \
	$(srcdir)/broker/transform/transform_action_struct.c \
	$(srcdir)/broker/transform/transform_action_string.c \
	$(srcdir)/broker/transform/transform_action_math.c \
	$(srcdir)/broker/transform/transform_action_time.c \
	$(srcdir)/broker/transform/transform_action_array.c \
	$(srcdir)/broker/transform/transform_template.c $(srcdir)/broker/transform/transform_regex.c \
	$(srcdir)/broker/transform/transform_tz.c \
	$(srcdir)/broker/event/event.c $(srcdir)/broker/event/event_json.c \
	$(srcdir)/broker/event/event_check.c $(srcdir)/broker/event/timestamp.c \
	$(srcdir)/broker/core/json_span.c $(srcdir)/broker/core/arena.c \
	$(srcdir)/broker/core/buf.c $(srcdir)/broker/core/alloc.c

fuzz-transform: tests/fuzz/fuzz-transform

tests/fuzz/fuzz-transform: $(fuzz_transform_sources)
	@command -v $(FUZZ_CC) >/dev/null 2>&1 || { \
		echo "make fuzz-transform: $(FUZZ_CC) not found; libFuzzer needs clang" \
			"(apt-get install clang, or make FUZZ_CC=/path/to/clang)" >&2; \
		exit 1; }
	@$(MKDIR_P) tests/fuzz
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) -DTF_MAX_TEXT=65536 $(JANSSON_CFLAGS) $(OPENSSL_CFLAGS) \
		$(FUZZ_CFLAGS) -o $@ $(fuzz_transform_sources) $(JANSSON_LIBS) $(OPENSSL_LIBS) -lpthread

CLEANFILES += tests/fuzz/fuzz-transform

.PHONY: fuzz-transform

# The GitHub connector's payload mapper (connectors/source-github/github_map.h):
# the body of either content type, mapped to attributes the broker's own
# event_check() must accept (see the top of fuzz-github.c).  Run it like the
# record target:
#
#       make fuzz-github
#       mkdir -p fuzz-new && tests/fuzz/fuzz-github -max_total_time=60 \
#           fuzz-new $(srcdir)/tests/fuzz/corpus/github
fuzz_replays += tests/fuzz/replay-github

tests_fuzz_replay_github_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz-github.c \
	connectors/source-github/github_map.c connectors/source-github/github_map.h
tests_fuzz_replay_github_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_TARGET='"github"'
tests_fuzz_replay_github_LDADD = connectors/libconnector.la libvane.la $(JANSSON_LIBS)

fuzz_github_sources = $(srcdir)/tests/fuzz/fuzz-github.c \
	$(srcdir)/connectors/source-github/github_map.c $(srcdir)/connectors/common/strbuf.c \
	$(srcdir)/broker/event/event.c $(srcdir)/broker/event/event_check.c \
	$(srcdir)/broker/event/timestamp.c $(srcdir)/broker/core/alloc.c

fuzz-github: tests/fuzz/fuzz-github

tests/fuzz/fuzz-github: $(fuzz_github_sources)
	@command -v $(FUZZ_CC) >/dev/null 2>&1 || { \
		echo "make fuzz-github: $(FUZZ_CC) not found; libFuzzer needs clang" \
			"(apt-get install clang, or make FUZZ_CC=/path/to/clang)" >&2; \
		exit 1; }
	@$(MKDIR_P) tests/fuzz
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(JANSSON_CFLAGS) $(FUZZ_CFLAGS) -o $@ \
		$(fuzz_github_sources) $(JANSSON_LIBS)

CLEANFILES += tests/fuzz/fuzz-github

.PHONY: fuzz-github

/*
 * test-core.c -- the broker's foundations: error codes, vane_buf, the log in
 * both formats, address parsing, mkdir -p, the arena, the u64 hash map and
 * size and duration parsing.
 */
#include <errno.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "core/alloc.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/log.h"
#include "core/net.h"
#include "core/u64map.h"
#include "core/units.h"
#include "harness.h"
#include "tap.h"

static void test_errors(void)
{
    is_str(vane_strerror(0), "success", "0 is success");
    is_str(vane_strerror(VANE_ECONFIG), "invalid configuration", "own code has its message");
    is_str(vane_err_name(VANE_ELOCKED), "VANE_ELOCKED", "own code has its name");
    is_str(vane_strerror(-ENOENT), strerror(ENOENT), "errno codes use the C library's text");
    is_str(vane_err_name(-EINVAL), "EINVAL", "errno codes have their names");
    ok(VANE_ECONFIG < VANE_ERR_BASE, "own codes sit below the reserved base");
    contains(vane_strerror(7), "unknown error 7", "a positive value is not an error code");
}

static void test_buf(void)
{
    struct vane_buf buf = VANE_BUF_INIT;
    char *detached;

    vane_buf_append_str(&buf, "hello");
    vane_buf_append(&buf, ", ", 2);
    vane_buf_appendf(&buf, "%s %d", "world", 42);
    is_str(buf.data, "hello, world 42", "append and appendf concatenate");
    is_int(buf.len, 15, "len counts the bytes without the NUL");
    vane_buf_reset(&buf);
    is_int(buf.len, 0, "reset empties");
    for (int i = 0; i < 1000; i++)
        vane_buf_appendf(&buf, "%04d", i);
    is_int(buf.len, 4000, "appendf grows past the initial capacity");
    ok(memcmp(buf.data + 3996, "0999", 4) == 0, "the last formatted item is intact");
    vane_buf_append(&buf, "\0x", 2);
    is_int(buf.len, 4002, "bytes with NULs are kept");
    detached = vane_buf_detach(&buf);
    ok(detached != NULL && buf.data == NULL && buf.len == 0, "detach hands over the bytes");
    vane_free(detached);
    detached = vane_buf_detach(&buf);
    is_str(detached, "", "detaching an empty buffer gives an empty string");
    vane_free(detached);
    vane_buf_free(&buf);
}

/* Logs into a file at the given settings and returns what was written. */
static char *capture_log(enum log_level level, enum vane_log_format format, const char *msg)
{
    char *dir = harness_tempdir();
    char *path = vane_asprintf("%s/log", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    char *text;

    vane_log_setup(level, format, fd);
    vane_log_debug("test", "debug line");
    vane_log_info("test", "%s", msg);
    vane_log_setup(LOG_LEVEL_INFO, VANE_LOG_TEXT, 2);
    close(fd);
    text = harness_read_file(path);
    vane_free(path);
    harness_rmtree(dir);
    return text;
}

static void test_log(void)
{
    enum log_level level;
    enum vane_log_format format;
    char *text;
    json_t *line;

    is_int(vane_log_level_parse("warn", &level), 0, "warn is a level");
    is_int(level, LOG_LEVEL_WARN, "warn parses to LOG_LEVEL_WARN");
    is_int(vane_log_level_parse("verbose", &level), -EINVAL, "verbose is not a level");
    is_int(vane_log_format_parse("json", &format), 0, "json is a format");

    text = capture_log(LOG_LEVEL_INFO, VANE_LOG_TEXT, "hello text");
    contains(text, " info  test: hello text\n", "text line has level, component, message");
    ok(text && strstr(text, "debug line") == NULL, "debug is filtered at level info");
    vane_free(text);

    text = capture_log(LOG_LEVEL_DEBUG, VANE_LOG_JSON, "say \"hi\"\n");
    contains(text, "debug line", "debug is kept at level debug");
    line = text ? json_loads(strchr(text, '\n') + 1, JSON_DISABLE_EOF_CHECK, NULL) : NULL;
    ok(line != NULL, "a JSON log line parses");
    is_str(json_string_value(json_object_get(line, "msg")), "say \"hi\"\n",
           "quotes and newlines survive JSON escaping");
    is_str(json_string_value(json_object_get(line, "level")), "info", "level field");
    is_str(json_string_value(json_object_get(line, "component")), "test", "component field");
    json_decref(line);
    vane_free(text);
}

static void test_net(void)
{
    struct sockaddr_storage addr;
    char text[64];

    is_int(vane_net_parse_addr("127.0.0.1:8080", &addr), 0, "IPv4 address parses");
    vane_net_format_addr((struct sockaddr *)&addr, text, sizeof(text));
    is_str(text, "127.0.0.1:8080", "IPv4 round-trips");
    is_int(vane_net_parse_addr("[::1]:0", &addr), 0, "IPv6 address with port 0 parses");
    vane_net_format_addr((struct sockaddr *)&addr, text, sizeof(text));
    is_str(text, "[::1]:0", "IPv6 round-trips");
    is_int(vane_net_parse_addr("localhost:80", &addr), -EINVAL, "names are refused");
    is_int(vane_net_parse_addr("127.0.0.1", &addr), -EINVAL, "a port is required");
    is_int(vane_net_parse_addr("127.0.0.1:65536", &addr), -EINVAL, "ports stop at 65535");
    is_int(vane_net_parse_addr("127.0.0.1:8x", &addr), -EINVAL, "ports are numbers");
    is_int(vane_net_parse_addr("[::1]8080", &addr), -EINVAL, "IPv6 needs ]:port");
}

static void test_fs(void)
{
    char *dir = harness_tempdir();
    char *deep = vane_asprintf("%s/a/b/c", dir);
    char *file = harness_write_file(dir, "plain", "x");
    char *under_file = vane_asprintf("%s/sub", file);
    struct stat st;

    is_int(vane_fs_mkdir_p(deep, 0755), 0, "mkdir -p creates parents");
    ok(stat(deep, &st) == 0 && S_ISDIR(st.st_mode), "the deepest directory exists");
    is_int(vane_fs_mkdir_p(deep, 0755), 0, "mkdir -p on an existing directory succeeds");
    is_int(vane_fs_mkdir_p(file, 0755), -ENOTDIR, "a file in the way is ENOTDIR");
    is_int(vane_fs_mkdir_p(under_file, 0755), -ENOTDIR, "a file as a parent is ENOTDIR");
    vane_free(deep);
    vane_free(file);
    vane_free(under_file);
    harness_rmtree(dir);
}

static void test_arena(void)
{
    struct vane_arena arena = VANE_ARENA_INIT;
    char *big, *small = vane_arena_strndup(&arena, "hello world", 5);
    int aligned = 1;

    is_str(small, "hello", "strndup copies len bytes and terminates");
    for (int i = 1; i < 200; i++)
        aligned &= ((uintptr_t)vane_arena_alloc(&arena, (size_t)i) % alignof(max_align_t)) == 0;
    ok(aligned, "every allocation is aligned for any type");
    big = vane_arena_alloc(&arena, 1 << 20);
    memset(big, 'x', 1 << 20);
    is_str(small, "hello", "a chunk larger than the default leaves earlier bytes alone");
    vane_arena_free(&arena);
    ok(arena.chunks == NULL, "free releases every chunk");
}

/* Keys that agree in their low bits, so probe runs are long and removals shift entries. */
static void test_u64map(void)
{
    enum { N = 5000 };
    struct u64map map = U64MAP_INIT;
    uint64_t key, value;
    size_t cursor = 0, walked = 0;
    int right = 1;

    for (uint64_t i = 0; i < N; i++)
        u64map_put(&map, (i + 1) << 20, i * 3);
    is_int((long)map.count, N, "every key is in");
    for (uint64_t i = 0; i < N; i += 2)
        right &= u64map_remove(&map, (i + 1) << 20);
    ok(right, "removing present keys says so");
    ok(!u64map_remove(&map, UINT64_C(7) << 50), "removing an absent key says so");
    for (uint64_t i = 0; i < N; i++) {
        bool found = u64map_get(&map, (i + 1) << 20, &value);

        right &= found == (i % 2 == 1) && (!found || value == i * 3);
    }
    ok(right, "after removals, exactly the odd keys remain with their values");
    u64map_put(&map, 2 << 20, 42);
    ok(u64map_get(&map, 2 << 20, &value) && value == 42, "put replaces a value");
    while (u64map_next(&map, &cursor, &key, &value))
        walked++;
    is_int((long)walked, (long)map.count, "the walk visits every entry once");
    u64map_free(&map);
    ok(!u64map_get(&map, 2 << 20, &value), "a freed map is empty");
}

static void test_units(void)
{
    uint64_t v;

    ok(vane_parse_size("64MiB", &v) == 0 && v == 64u << 20, "64MiB");
    ok(vane_parse_size("1000", &v) == 0 && v == 1000, "a bare size is bytes");
    ok(vane_parse_size("2KB", &v) == 0 && v == 2000, "KB is 1000");
    ok(vane_parse_size("-1", &v) != 0 && vane_parse_size("1 MiB", &v) != 0 &&
           vane_parse_size("1mb", &v) != 0 && vane_parse_size("", &v) != 0,
       "negative, spaced, wrong-case and empty sizes are refused");
    ok(vane_parse_duration_ms("2m", &v) == 0 && v == 120000, "2m");
    ok(vane_parse_duration_ms("500ms", &v) == 0 && v == 500, "500ms");
    ok(vane_parse_duration_ms("30", &v) == 0 && v == 30000, "a bare duration is seconds");
    ok(vane_parse_duration_ms("7d", &v) == 0 && v == 7 * 86400000ull, "7d");
    ok(vane_parse_duration_ms("1w", &v) != 0 && vane_parse_duration_ms("m", &v) != 0,
       "unknown units and missing numbers are refused");
    ok(vane_parse_duration_ms("99999999999999999999d", &v) != 0, "overflow is refused");
}

int main(void)
{
    test_errors();
    test_buf();
    test_log();
    test_net();
    test_fs();
    test_arena();
    test_u64map();
    test_units();
    return tap_done();
}

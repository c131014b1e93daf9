/*
 * bench-util.c -- what the benchmark programs share (bench-util.h): the
 * options as data, number formatting, the table of figures, the run's
 * directory, the fatal and "ODD:" messages, readings of /proc, and the
 * GitHub-like push events of bench-filter and bench-lua.
 *
 * The option rules are the programs' own, gathered here: values from the
 * environment first, then the command line, every knob taking one value;
 * what a program checks differently (the least seconds, whole seconds, the
 * largest count) it says in its struct bench_cli.  /proc files are read
 * into a fixed buffer: those read here (status, stat, loadavg) are a few
 * KiB at most.
 */
#include "bench-util.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/fs.h"
#include "event/event.h"

#define PROC_TEXT_MAX 8192

static const char *program_name = "bench"; /* set by bench_options() */
static const char *fatal_root;             /* removed by bench_fatal() */

/* ---- options ---------------------------------------------------------------- */

/* "1.5", "300k", "10M", "1G" (x 10^9), at most max; returns 0 or -EINVAL. */
static int parse_count(const char *s, double max, uint64_t *out)
{
    char *end;
    double v = strtod(s, &end);

    if (end == s)
        return -EINVAL;
    if (*end == 'k' || *end == 'K')
        v *= 1e3, end++;
    else if (*end == 'M' || *end == 'm')
        v *= 1e6, end++;
    else if (*end == 'G' || *end == 'g')
        v *= 1e9, end++;
    if (*end != '\0' || v < 1 || v > max)
        return -EINVAL;
    *out = (uint64_t)v;
    return 0;
}

/* "256M", "1G", "1GiB", "4096" (binary multiples); returns 0 or -EINVAL. */
static int parse_bytes(const char *s, uint64_t *out)
{
    char *end;
    double v = strtod(s, &end);
    const char *units = "kmgt";
    const char *u = *end != '\0' ? strchr(units, end[0] | 0x20) : NULL;

    if (end == s)
        return -EINVAL;
    if (u != NULL) {
        for (const char *p = units; p <= u; p++)
            v *= 1024;
        end++;
        if (strcmp(end, "iB") == 0 || strcmp(end, "B") == 0)
            end += strlen(end);
    }
    if (*end != '\0' || v < 4096 || v > 1099511627776.0)
        return -EINVAL;
    *out = (uint64_t)v;
    return 0;
}

static int parse_seconds(const struct bench_cli *cli, const char *s, double *out)
{
    char *end;
    double seconds = strtod(s, &end);

    if (end == s || *end != '\0' || !(seconds > 0) || seconds < cli->min_seconds ||
        seconds > 3600 || (cli->whole_seconds && seconds != (double)(long)seconds))
        return -EINVAL;
    *out = seconds;
    return 0;
}

static int set_knob(const struct bench_cli *cli, void *cfg, const struct bench_knob *k,
                    const char *value)
{
    char *field = (char *)cfg + k->offset;

    switch (k->kind) {
    case BENCH_KNOB_TEXT:
        *(const char **)(void *)field = value;
        return *value != '\0' ? 0 : -EINVAL;
    case BENCH_KNOB_COUNT:
        return parse_count(value, cli->max_count, (uint64_t *)(void *)field);
    case BENCH_KNOB_BYTES:
        return parse_bytes(value, (uint64_t *)(void *)field);
    case BENCH_KNOB_SECONDS:
        return parse_seconds(cli, value, (double *)(void *)field);
    }
    return -EINVAL;
}

static void usage(const struct bench_cli *cli, FILE *out)
{
    fprintf(out, "usage: %s [--quick] [--keep] [OPTION VALUE]...\n", cli->program);
    fprintf(out, "  %-*s %s\n", cli->width, "--quick", cli->quick_help);
    fprintf(out, "  %-*s %s\n", cli->width, "--keep", "leave the data directory in place");
    for (size_t i = 0; i < cli->nknobs; i++)
        fprintf(out, "  %-*s %s (env %s)\n", cli->width, cli->knobs[i].option, cli->knobs[i].help,
                cli->knobs[i].env);
}

static const struct bench_knob *find_knob(const struct bench_cli *cli, const char *option)
{
    for (size_t i = 0; i < cli->nknobs; i++)
        if (strcmp(cli->knobs[i].option, option) == 0)
            return &cli->knobs[i];
    return NULL;
}

bool bench_quick(int argc, char **argv)
{
    bool quick = getenv("BENCH_QUICK") != NULL;

    for (int i = 1; i < argc; i++)
        quick |= strcmp(argv[i], "--quick") == 0;
    return quick;
}

static int options_from_env(const struct bench_cli *cli, void *cfg)
{
    for (size_t i = 0; i < cli->nknobs; i++) {
        const char *value = getenv(cli->knobs[i].env);

        if (value != NULL && set_knob(cli, cfg, &cli->knobs[i], value) != 0) {
            fprintf(stderr, "%s: %s=%s is not valid\n", cli->program, cli->knobs[i].env, value);
            return -EINVAL;
        }
    }
    return 0;
}

int bench_options(const struct bench_cli *cli, void *cfg, bool *keep, int argc, char **argv)
{
    program_name = cli->program;
    if (options_from_env(cli, cfg) != 0)
        return -EINVAL;
    for (int i = 1; i < argc; i++) {
        const struct bench_knob *k = find_knob(cli, argv[i]);
        bool has_value = k != NULL && i + 1 < argc;

        if (strcmp(argv[i], "--quick") == 0)
            continue;
        if (strcmp(argv[i], "--keep") == 0) {
            *keep = true;
        } else if (strcmp(argv[i], "--help") == 0) {
            usage(cli, stdout);
            exit(0);
        } else if (!has_value || set_knob(cli, cfg, k, argv[i + 1]) != 0) {
            fprintf(stderr, "%s: bad option or value: %s%s%s\n", cli->program, argv[i],
                    has_value ? " " : "", has_value ? argv[i + 1] : "");
            usage(cli, stderr);
            return -EINVAL;
        } else {
            i++;
        }
    }
    return 0;
}

bool bench_listed(const char *list, const char *item)
{
    size_t len = strlen(item);

    if (list == NULL)
        return true;
    for (const char *p = list; *p != '\0';) {
        size_t n = strcspn(p, ",");

        if (n == len && strncmp(p, item, len) == 0)
            return true;
        p += n + (p[n] == ',');
    }
    return false;
}

size_t bench_counts(const char *list, long max_value, unsigned *counts, size_t max_n)
{
    size_t n = 0;

    for (const char *p = list; *p != '\0' && n < max_n;) {
        char *end;
        long v = strtol(p, &end, 10);

        if (end == p || (*end != ',' && *end != '\0') || v < 1 || v > max_value)
            return 0;
        counts[n++] = (unsigned)v;
        p = end + (*end == ',');
    }
    return n;
}

/* ---- text ------------------------------------------------------------------- */

char *bench_scratch(void)
{
    static char bufs[24][48];
    static unsigned next;

    return bufs[next++ % 24];
}

const char *bench_num(double v)
{
    char digits[32], *out = bench_scratch();
    int len = snprintf(digits, sizeof(digits), "%.0f", v < 0 ? 0 : v > 1e18 ? 1e18 : v);
    size_t o = 0;

    for (int i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = '\0';
    return out;
}

const char *bench_fmt_ms(double ns)
{
    char *out = bench_scratch();

    snprintf(out, 48, "%.2f ms", ns / 1e6);
    return out;
}

const char *bench_fmt_mib(double kib)
{
    char *out = bench_scratch();

    snprintf(out, 48, "%.1f MiB", kib / 1024.0);
    return out;
}

/* ---- the table of figures ----------------------------------------------------- */

struct bench_row *bench_table_add(struct bench_table *t, const char *figure, const char *measured,
                                  const char *reference, double ratio, int met)
{
    struct bench_row *r =
        &t->rows[t->nrows < BENCH_MAX_ROWS - 1 ? t->nrows++ : BENCH_MAX_ROWS - 1];

    snprintf(r->figure, sizeof(r->figure), "%s", figure);
    snprintf(r->measured, sizeof(r->measured), "%s", measured);
    snprintf(r->reference, sizeof(r->reference), "%s", reference);
    r->ratio = ratio;
    r->met = met;
    return r;
}

void bench_table_print(const struct bench_table *t, const char *footnote)
{
    printf("\n%-42s %-20s %-40s %7s  %s\n", "figure", "measured", "target / reference", "ratio",
           "met");
    for (size_t i = 0; i < t->nrows; i++) {
        const struct bench_row *r = &t->rows[i];
        char ratio[16] = "";

        if (r->ratio > 0)
            snprintf(ratio, sizeof(ratio), "%.2f", r->ratio);
        printf("%-42s %-20s %-40s %7s  %s\n", r->figure, r->measured, r->reference, ratio,
               r->met < 0 ? "-" : r->met ? "yes" : "no");
    }
    printf("%s\n", footnote);
}

/* ---- the run ------------------------------------------------------------------ */

char *bench_make_root(const char *parent, const char *program)
{
    char *root = vane_asprintf("%s/%s-XXXXXX", parent, program);

    vane_fs_mkdir_p(parent, 0755);
    if (mkdtemp(root) == NULL) {
        fprintf(stderr, "%s: cannot create %s: %s\n", program, root, strerror(errno));
        exit(1);
    }
    return root;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

void bench_rmtree(const char *path)
{
    nftw(path, remove_entry, 32, FTW_DEPTH | FTW_PHYS);
}

void bench_fatal_removes(const char *root)
{
    fatal_root = root;
}

void bench_fatal(const char *fmt, ...)
{
    va_list ap;

    fflush(stdout);
    fprintf(stderr, "%s: ", program_name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    if (fatal_root != NULL)
        bench_rmtree(fatal_root);
    exit(1);
}

void bench_odd(unsigned *count, const char *fmt, ...)
{
    va_list ap;

    (*count)++;
    printf("ODD: ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

/* ---- the machine -------------------------------------------------------------- */

const char *bench_fs_name(const char *dir, bool *tmpfs)
{
    struct statfs st;
    bool is_tmpfs = false;
    const char *name;

    if (statfs(dir, &st) != 0) {
        name = "unknown";
    } else {
        switch ((unsigned long)st.f_type) {
        case 0xEF53: name = "ext4"; break;
        case 0x58465342: name = "xfs"; break;
        case 0x9123683E: name = "btrfs"; break;
        case 0x794C7630: name = "overlayfs"; break;
        case 0x01021994: name = "tmpfs (the disk is not measured!)", is_tmpfs = true; break;
        default: name = "other"; break;
        }
    }
    if (tmpfs != NULL)
        *tmpfs = is_tmpfs;
    return name;
}

/* Reads a small file (a /proc entry) into text; false when it cannot. */
static bool read_proc(const char *path, char text[PROC_TEXT_MAX])
{
    int fd = open(path, O_RDONLY);
    size_t got = 0;
    ssize_t n = 0;

    if (fd < 0)
        return false;
    while (got < PROC_TEXT_MAX - 1 && (n = read(fd, text + got, PROC_TEXT_MAX - 1 - got)) > 0)
        got += (size_t)n;
    close(fd);
    text[got] = '\0';
    return n >= 0;
}

bool bench_loadavg(double avg[3])
{
    char text[PROC_TEXT_MAX];

    return read_proc("/proc/loadavg", text) &&
           sscanf(text, "%lf %lf %lf", &avg[0], &avg[1], &avg[2]) == 3;
}

const char *bench_loadavg_text(void)
{
    double avg[3] = {0, 0, 0};
    char *out = bench_scratch();

    bench_loadavg(avg);
    snprintf(out, 48, "%.2f, %.2f, %.2f (1, 5, 15 min)", avg[0], avg[1], avg[2]);
    return out;
}

double bench_rss_kib(pid_t pid)
{
    char path[64], text[PROC_TEXT_MAX];
    const char *line;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    if (!read_proc(path, text) || (line = strstr(text, "\nVmRSS:")) == NULL)
        return 0;
    return strtod(line + strlen("\nVmRSS:"), NULL);
}

double bench_cpu_seconds(pid_t pid)
{
    char path[64], text[PROC_TEXT_MAX];
    const char *p = NULL;
    unsigned long utime = 0, stime = 0;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if (read_proc(path, text))
        p = strrchr(text, ')'); /* the name may hold spaces */
    /* After the name: state, then fields 4..13, then utime and stime. */
    if (p != NULL)
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime);
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

double bench_now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- statistics ---------------------------------------------------------------- */

int bench_compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

double bench_quantile(const uint64_t *sorted, size_t n, double p)
{
    size_t i = (size_t)(p * (double)n + 0.999999);

    if (n == 0)
        return 0;
    return (double)sorted[i == 0 ? 0 : i > n ? n - 1 : i - 1];
}

void bench_odd_log(unsigned *count, char *log, const char *what)
{
    unsigned found = 0;

    for (char *line = log; line != NULL && *line != '\0';) {
        char *end = strchr(line, '\n');
        const char *level = strchr(line, ' ');

        if (end != NULL)
            *end = '\0';
        if (level != NULL && (strncmp(level, " warn ", 6) == 0 || strncmp(level, " error ", 7) == 0)
            && found++ < BENCH_ODD_LOG_LINES)
            bench_odd(count, "%s: vaned logged: %s", what, line);
        line = end ? end + 1 : NULL;
    }
    if (found > BENCH_ODD_LOG_LINES)
        bench_odd(count, "%s: ... and %u more warnings or errors", what,
                  found - BENCH_ODD_LOG_LINES);
}

const char *bench_describe_status(int status, int stop_timeout_s)
{
    char *out = bench_scratch();

    if (status == -1)
        snprintf(out, 48, "still running after %d s (killed)", stop_timeout_s);
    else if (WIFEXITED(status))
        snprintf(out, 48, "exit status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(out, 48, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        snprintf(out, 48, "wait status %d", status);
    return out;
}

/* ---- GitHub-like events ----------------------------------------------------------- */

char *bench_push_data(size_t i, const char *repository, size_t filler_len)
{
    char *filler = vane_malloc(filler_len + 1), *data;

    memset(filler, 'x', filler_len);
    filler[filler_len] = '\0';
    data = vane_asprintf(
        "{\"ref\":\"refs/heads/main\",\"before\":\"%040zu\",\"after\":\"%040zu\","
        "\"repository\":{\"id\":%zu,\"name\":\"%s\",\"full_name\":\"vane/vane\","
        "\"private\":false,\"stargazers_count\":1200},\"pusher\":{\"name\":\"dev\"},"
        "\"commits\":[{\"id\":\"%zu\",\"message\":\"%s\"}]}",
        i, i + 1, i, repository, i, filler);
    vane_free(filler);
    return data;
}

void bench_push_event(struct event *event, size_t i, const char *id, const char *type,
                      const char *data)
{
    struct event_value sequence = {.type = EVENT_INTEGER, .u.integer = (int64_t)i};

    event_add_string(event, "specversion", EVENT_STRING, "1.0");
    event_add_string(event, "id", EVENT_STRING, id);
    event_add_string(event, "source", EVENT_URI_REF, "https://github.com/vane/vane");
    event_add_string(event, "type", EVENT_STRING, type);
    event_add_string(event, "subject", EVENT_STRING, "refs/heads/main");
    event_add_string(event, "time", EVENT_TIMESTAMP, "2024-05-01T10:00:00.123Z");
    event_add_string(event, "datacontenttype", EVENT_STRING, "application/json");
    event_add_string(event, "githubdelivery", EVENT_STRING, id);
    event_add(event, "sequence", 8, &sequence);
    event_set_data(event, data, strlen(data));
}

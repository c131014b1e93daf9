/*
 * bench-util.c -- what the benchmark programs share (bench-util.h): the
 * options as data, number formatting, the table of figures, the run's
 * directory, the fatal and "ODD:" messages, readings of /proc, child
 * processes under a deadline, the wrk driver of bench-gateway and
 * bench-cluster, and the GitHub-like push events of bench-filter and
 * bench-lua.
 *
 * The option rules are the programs' own, gathered here: values from the
 * environment first, then the command line, every knob taking one value;
 * what a program checks differently (the least seconds, whole seconds, the
 * largest count) it says in its struct bench_cli.  /proc files are read
 * into a fixed buffer: those read here (status, stat, loadavg) are a few
 * KiB at most.  A tool's output comes through a pipe drained at every
 * sample, so nothing here needs a file of its own (and nothing here
 * needs the test harness, which bench-store, bench-filter and bench-lua
 * do not link).
 */
#include "bench-util.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/fs.h"
#include "event/event.h"

#define PROC_TEXT_MAX 8192
#define SAMPLE_MS 50          /* a tool's watch: RSS, CPU and liveness sampling period */
#define VERSION_TIMEOUT 5.0   /* a tool's --version, s */

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

/* ---- child processes ------------------------------------------------------------ */

const char *bench_find_tool(const char *name)
{
    const char *path = getenv("PATH");

    for (const char *p = path ? path : "/usr/bin:/bin"; *p != '\0';) {
        size_t n = strcspn(p, ":");
        char *candidate = vane_asprintf("%.*s/%s", (int)n, p, name);

        if (access(candidate, X_OK) == 0)
            return candidate; /* kept for the run */
        vane_free(candidate);
        p += n + (p[n] == ':');
    }
    return NULL;
}

void bench_pause_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* Starts argv with stdout and stderr on out_fd, which the child keeps; it dies with us. */
static pid_t spawn_to(const char *const *argv, int out_fd)
{
    pid_t pid;

    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(out_fd, 1);
        dup2(out_fd, 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    if (pid < 0)
        bench_fatal("fork: %s", strerror(errno));
    return pid;
}

pid_t bench_spawn(const char *const *argv, const char *out_path)
{
    int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    pid_t pid;

    if (fd < 0)
        bench_fatal("cannot create %s: %s", out_path, strerror(errno));
    pid = spawn_to(argv, fd);
    close(fd);
    return pid;
}

bool bench_child_exited(pid_t pid, int *status)
{
    return waitpid(pid, status, WNOHANG) == pid;
}

int bench_stop_child(pid_t pid, double timeout_s)
{
    double deadline = bench_now_s() + timeout_s;
    int status;

    kill(pid, SIGTERM);
    while (bench_now_s() < deadline) {
        if (bench_child_exited(pid, &status))
            return status;
        bench_pause_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

/* Appends what the pipe fd holds now (it is non-blocking) to out. */
static void drain(int fd, struct vane_buf *out)
{
    char chunk[4096];
    ssize_t n;

    while ((n = read(fd, chunk, sizeof(chunk))) > 0)
        vane_buf_append(out, chunk, (size_t)n);
}

/* One sample of the watched processes into r. */
static void sample_watch(const pid_t *watch, size_t nwatch, struct bench_tool_run *r)
{
    for (size_t i = 0; i < nwatch; i++) {
        double rss = bench_rss_kib(watch[i]);

        r->max_rss_kib = rss > r->max_rss_kib ? rss : r->max_rss_kib;
        r->watch_died |= kill(watch[i], 0) != 0 || rss == 0;
    }
}

static double watch_cpu_seconds(const pid_t *watch, size_t nwatch)
{
    double cpu = 0;

    for (size_t i = 0; i < nwatch; i++)
        cpu += bench_cpu_seconds(watch[i]);
    return cpu;
}

void bench_run_tool(const char *const *argv, double timeout_s, const pid_t *watch,
                    size_t nwatch, struct bench_tool_run *r)
{
    double deadline = bench_now_s() + timeout_s, cpu0 = watch_cpu_seconds(watch, nwatch);
    struct vane_buf out = VANE_BUF_INIT;
    int fds[2];
    pid_t pid;

    memset(r, 0, sizeof(*r));
    r->status = -1;
    if (pipe2(fds, O_CLOEXEC) != 0)
        bench_fatal("pipe: %s", strerror(errno));
    pid = spawn_to(argv, fds[1]);
    close(fds[1]);
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    for (;;) {
        sample_watch(watch, nwatch, r);
        drain(fds[0], &out);
        if (bench_child_exited(pid, &r->status))
            break;
        if (bench_now_s() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            r->status = -1;
            break;
        }
        bench_pause_ms(SAMPLE_MS);
    }
    drain(fds[0], &out);
    close(fds[0]);
    r->watch_cpu = watch_cpu_seconds(watch, nwatch) - cpu0;
    r->output = vane_buf_detach(&out); /* "" when the tool said nothing */
}

char *bench_tool_version(const char *const *argv)
{
    struct bench_tool_run r;
    char *line;

    bench_run_tool(argv, VERSION_TIMEOUT, NULL, 0, &r);
    line = vane_strndup(r.output, strcspn(r.output, "\n"));
    vane_free(r.output);
    return line;
}

/* ---- wrk ------------------------------------------------------------------------ */

/*
 * The scripts' shared head, after the targets table: setup() runs in wrk's
 * main Lua state, gives each thread a number and, when there are targets,
 * its server; init() then runs in the thread's own state, where that number
 * and the run's tag (the argument after --) make the prefix of every id the
 * thread sends.
 */
static const char wrk_head[] =
    "local threads, count, prefix = 0, 0, nil\n"
    "function setup(thread)\n"
    "  threads = threads + 1\n"
    "  thread:set(\"tid\", threads)\n"
    "  if #targets > 0 then\n"
    "    local host, port = targets[(threads - 1) % #targets + 1]:match(\"^(.*):(%d+)$\")\n"
    "    thread.addr = wrk.lookup(host, port)[1]\n"
    "  end\n"
    "end\n"
    "function init(args)\n"
    "  prefix = (args[1] or \"bench\") .. \"-\" .. tostring(tid) .. \"-\"\n"
    "end\n";

/* Binary mode: the attributes in ce-* headers, the data as the body. */
static const char wrk_binary[] =
    "local headers = {\n"
    "  [\"ce-specversion\"] = \"1.0\",\n"
    "  [\"ce-source\"] = \"/bench/gateway\",\n"
    "  [\"ce-type\"] = \"dev.vane.bench\",\n"
    "  [\"content-type\"] = \"application/octet-stream\",\n"
    "}\n"
    "local body = string.rep(\"x\", %zu)\n"
    "function request()\n"
    "  count = count + 1\n"
    "  headers[\"ce-id\"] = prefix .. count\n"
    "  return wrk.format(\"POST\", nil, headers, body)\n"
    "end\n";

char *bench_wrk_script(const char *requests, const char *const *targets, size_t ntargets)
{
    struct vane_buf b = VANE_BUF_INIT;

    vane_buf_append_str(&b, "-- written by a Vane benchmark: every request carries ids unique "
                            "to the run\nlocal targets = {");
    for (size_t i = 0; i < ntargets; i++)
        vane_buf_appendf(&b, "%s\"%s\"", i > 0 ? ", " : " ", targets[i]);
    vane_buf_append_str(&b, " }\n");
    vane_buf_append_str(&b, wrk_head);
    vane_buf_append_str(&b, requests);
    return vane_buf_detach(&b);
}

char *bench_wrk_binary_script(size_t body_bytes, const char *const *targets, size_t ntargets)
{
    char *requests = vane_asprintf(wrk_binary, body_bytes);
    char *script = bench_wrk_script(requests, targets, ntargets);

    vane_free(requests);
    return script;
}

/* "3.02ms" -> ns; wrk's units are us, ms, s, m and h. */
static double parse_wrk_time(const char *text)
{
    static const struct { const char *unit; double ns; } units[] = {
        {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
    char unit[8] = "";
    double v = 0;

    if (sscanf(text, "%lf%7[a-z]", &v, unit) != 2)
        return 0;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (strcmp(unit, units[i].unit) == 0)
            return v * units[i].ns;
    return 0;
}

/* The text after label in text, or NULL. */
static const char *after(const char *text, const char *label)
{
    const char *p = text ? strstr(text, label) : NULL;

    return p ? p + strlen(label) : NULL;
}

/* Reads wrk --latency's report into l; returns whether its main lines were there. */
static bool parse_wrk(const char *out, struct bench_load *l)
{
    const char *requests = strstr(out, " requests in ");
    const char *latency = after(out, "Latency Distribution");
    const char *p;
    char seconds[16] = "";

    if (requests == NULL || latency == NULL)
        return false;
    while (requests > out && requests[-1] != '\n')
        requests--;
    if (sscanf(requests, "%" SCNu64 " requests in %15[0-9.a-z]", &l->requests, seconds) != 2)
        return false;
    l->seconds = parse_wrk_time(seconds) / 1e9;
    if ((p = after(latency, "50%")) != NULL)
        l->p50_ns = parse_wrk_time(p + strspn(p, " "));
    if ((p = after(latency, "99%")) != NULL)
        l->p99_ns = parse_wrk_time(p + strspn(p, " "));
    if ((p = after(out, "Non-2xx or 3xx responses:")) != NULL)
        l->non2xx = strtoull(p, NULL, 10);
    if ((p = after(out, "Socket errors:")) != NULL)
        sscanf(p, " connect %" SCNu64 ", read %" SCNu64 ", write %" SCNu64 ", timeout %" SCNu64,
               &l->errors[0], &l->errors[1], &l->errors[2], &l->errors[3]);
    return l->seconds > 0;
}

void bench_wrk_run(const struct bench_wrk *w, const char *url, const char *script,
                   const char *tag, double seconds, const pid_t *watch, size_t nwatch,
                   struct bench_load *l)
{
    char threads[24], connections[24], duration[24];
    const char *argv[] = {w->wrk, "-t", threads, "-c", connections, "-d", duration,
                          "--timeout", "5s", "--latency", "-s", script, url, "--", tag, NULL};
    struct bench_tool_run r;

    snprintf(threads, sizeof(threads), "%" PRIu64, w->threads);
    snprintf(connections, sizeof(connections), "%" PRIu64, w->connections);
    snprintf(duration, sizeof(duration), "%.0fs", seconds);
    memset(l, 0, sizeof(*l));
    bench_run_tool(argv, seconds + BENCH_WRK_GRACE, watch, nwatch, &r);
    l->ran = r.status == 0 && parse_wrk(r.output, l);
    l->max_rss_kib = r.max_rss_kib;
    if (l->ran) {
        l->rate = (double)(l->requests - l->non2xx) / l->seconds;
        l->vaned_cpu = r.watch_cpu / l->seconds;
    } else {
        bench_odd(w->odd, "wrk %s (%s) gave no report:\n%s", url,
                  bench_describe_status(r.status, (int)(seconds + BENCH_WRK_GRACE)), r.output);
    }
    if (r.watch_died)
        bench_odd(w->odd, "a vaned under load was gone during wrk %s", url);
    vane_free(r.output);
}

void bench_wrk_load(const struct bench_wrk *w, const char *url, const char *script,
                    const char *tag, const pid_t *watch, size_t nwatch, struct bench_load *l)
{
    char *warm_tag = vane_asprintf("%s-warm", tag);
    double start_rss = 0;
    struct bench_load warm;

    for (size_t i = 0; i < nwatch; i++)
        if (bench_rss_kib(watch[i]) > start_rss)
            start_rss = bench_rss_kib(watch[i]);
    bench_wrk_run(w, url, script, warm_tag, w->warmup, watch, nwatch, &warm);
    bench_wrk_run(w, url, script, tag, w->duration, watch, nwatch, l);
    l->start_rss_kib = start_rss;
    l->answered = (warm.requests - warm.non2xx) + (l->requests - l->non2xx);
    if (l->max_rss_kib < warm.max_rss_kib)
        l->max_rss_kib = warm.max_rss_kib;
    vane_free(warm_tag);
}

void bench_wrk_print(const struct bench_wrk *w, const char *what, const struct bench_load *l,
                     double per_req)
{
    if (!l->ran)
        return;
    printf("%s: %s ev/s  (wrk: %s answers in %.2f s, %s not 2xx, socket errors connect %" PRIu64
           " read %" PRIu64 " write %" PRIu64 " timeout %" PRIu64 "; latency p50 %s p99 %s; "
           "vaned %.0f%% CPU, max RSS %s: %+.0f B per event answered since the warm-up)\n",
           what, bench_num(l->rate * per_req), bench_num((double)l->requests), l->seconds,
           bench_num((double)l->non2xx), l->errors[0], l->errors[1], l->errors[2], l->errors[3],
           bench_fmt_ms(l->p50_ns), bench_fmt_ms(l->p99_ns), l->vaned_cpu * 100,
           bench_fmt_mib(l->max_rss_kib),
           l->answered > 0 ? (l->max_rss_kib - l->start_rss_kib) * 1024.0 /
                                 ((double)l->answered * per_req) : 0.0);
    if (l->non2xx > 0)
        bench_odd(w->odd, "%s: %s answers were not 2xx", what, bench_num((double)l->non2xx));
    if (l->errors[0] + l->errors[1] + l->errors[2] + l->errors[3] > 0)
        bench_odd(w->odd, "%s: wrk counted socket errors (see above)", what);
}

void bench_judge_stored(unsigned *odd, const char *what, const char *where, double stored,
                        double want, double slack)
{
    if (stored < 0)
        bench_odd(odd, "%s: %s did not answer with its eventlogs' counts", what, where);
    else if (stored < want)
        bench_odd(odd, "%s: %s took %s events but %s were answered 2xx", what, where,
                  bench_num(stored), bench_num(want));
    else if (stored > want + slack)
        bench_odd(odd, "%s: %s took %s events, more than the %s answered 2xx and %s in flight",
                  what, where, bench_num(stored), bench_num(want), bench_num(slack));
    else
        printf("  stored: %s took %s events, %s answered 2xx (+%s in flight at the stops)\n",
               where, bench_num(stored), bench_num(want), bench_num(stored - want));
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

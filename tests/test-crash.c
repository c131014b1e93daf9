/*
 * test-crash.c -- kill -9 a real writer process at random moments, restart
 * it, and check that every acknowledged event is stored: acknowledged is a
 * subset of stored, offsets are dense, no event is stored twice, and each
 * restart resumes after everything acknowledged.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "harness.h"
#include "store/eventlog.h"
#include "tap.h"

#define KILLS 24

struct ack {
    uint64_t offset;
    char *id;
};

static struct ack *acks;
static size_t nacks, capacks;
static uv_loop_t loop;

static void note_ack(uint64_t offset, const char *id)
{
    if (nacks == capacks) {
        capacks = capacks ? capacks * 2 : 1024;
        acks = vane_realloc(acks, capacks * sizeof(*acks));
    }
    acks[nacks++] = (struct ack){offset, vane_strdup(id)};
}

/* Parses the writer's output; returns the "ready" offset, or -1. */
static long long parse_output(const char *out, uint64_t *max_acked, bool *any)
{
    long long ready = -1;

    for (const char *line = out; line != NULL && *line != '\0';) {
        const char *nl = strchr(line, '\n');
        unsigned long long offset;
        char id[64];

        if (nl == NULL)
            break; /* a line cut by the kill was never complete */
        if (sscanf(line, "ready %llu", &offset) == 1)
            ready = (long long)offset;
        else if (sscanf(line, "ack %llu %63s", &offset, id) == 2) {
            note_ack(offset, id);
            if (!*any || offset > *max_acked)
                *max_acked = offset;
            *any = true;
        }
        line = nl + 1;
    }
    return ready;
}

/* Runs the writer once and kills it after ms; returns its output. */
static char *run_and_kill(const char *dir, int generation, int ms)
{
    char *out_path = vane_asprintf("%s.out%d", dir, generation), gen[16];
    char *out;
    pid_t pid;

    snprintf(gen, sizeof(gen), "g%d", generation);
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        if (freopen(out_path, "w", stdout) == NULL)
            _exit(9);
        execl(getenv("CRASH_WRITER"), "crash-writer", dir, gen, (char *)NULL);
        _exit(127);
    }
    /* Kill it a random while after it is ready, so every kill lands on a
     * writer at work, however slow the build is to start. */
    for (int waited = 0; waited < harness_ms(10000); waited += 5) {
        char *so_far = harness_read_file(out_path);
        bool ready = so_far != NULL && strstr(so_far, "ready ") != NULL;

        vane_free(so_far);
        if (ready)
            break;
        uv_sleep(5);
    }
    uv_sleep((unsigned)ms);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    out = harness_read_file(out_path);
    unlink(out_path);
    vane_free(out_path);
    return out;
}

static int compare_ids(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads the whole log and checks it against the acknowledgements. */
static void verify(const char *dir)
{
    struct eventlog_options opt;
    struct eventlog_batch batch = EVENTLOG_BATCH_INIT;
    struct event e = EVENT_INIT;
    struct eventlog *log;
    char **ids = NULL;
    size_t nids = 0, cap = 0, missing = 0, dups = 0, gaps = 0;
    uint64_t offset = 0, t0 = uv_hrtime();

    eventlog_options_default(&opt);
    opt.segment_size = 256 * 1024;
    log = harness_eventlog_open(&loop, dir, &opt);
    if (!ok(log != NULL, "the log opens and recovers"))
        return;
    tap_diag("recovered in %.3f s", (double)(uv_hrtime() - t0) / 1e9);
    while (eventlog_read(log, offset, 4096, 1u << 20, &batch) == 0 && batch.count > 0) {
        for (size_t i = 0; i < batch.count; i++) {
            const struct event_attr *id;

            gaps += batch.records[i].offset != offset + i;
            record_to_event(&batch.records[i], &e);
            id = event_get(&e, "id");
            if (nids == cap) {
                cap = cap ? cap * 2 : 4096;
                ids = vane_realloc(ids, cap * sizeof(*ids));
            }
            ids[nids++] = id ? vane_strndup(id->value.u.bytes.ptr, id->value.u.bytes.len) : vane_strdup("");
        }
        offset = batch.next_offset;
    }
    is_int(gaps, 0, "offsets are dense (%zu events stored)", nids);
    for (size_t i = 0; i < nacks; i++)
        missing += acks[i].offset >= nids || strcmp(ids[acks[i].offset], acks[i].id) != 0;
    is_int(missing, 0, "every one of %zu acknowledged events is stored at its offset", nacks);
    qsort(ids, nids, sizeof(*ids), compare_ids);
    for (size_t i = 1; i < nids; i++)
        dups += strcmp(ids[i - 1], ids[i]) == 0;
    is_int(dups, 0, "no event is stored twice");
    for (size_t i = 0; i < nids; i++)
        vane_free(ids[i]);
    vane_free(ids);
    event_free(&e);
    eventlog_batch_free(&batch);
    harness_eventlog_close(&loop, log);
}

int main(void)
{
    char *tmp = harness_tempdir(), *dir = vane_asprintf("%s/log", tmp);
    size_t resumed_right = 0, started = 0;
    uint64_t max_acked = 0;
    bool any = false;

    uv_loop_init(&loop);
    srand((unsigned)time(NULL));
    for (int k = 0; k < KILLS; k++) {
        int ms = 20 + rand() % 200;
        char *out = run_and_kill(dir, k, ms);
        uint64_t before = max_acked;
        bool had = any;
        long long ready = parse_output(out, &max_acked, &any);

        if (ready >= 0) {
            started++;
            resumed_right += !had || (uint64_t)ready > before;
        }
        vane_free(out);
    }
    tap_diag("%d kills, %zu acknowledged events", KILLS, nacks);
    is_int(started, KILLS, "the writer was running at every one of the %d kills", KILLS);
    is_int(resumed_right, started, "each restart resumed after everything acknowledged");
    ok(nacks > 0, "events were acknowledged between the kills");
    verify(dir);
    for (size_t i = 0; i < nacks; i++)
        vane_free(acks[i].id);
    vane_free(acks);
    is_int(harness_loop_close(&loop), 0, "every handle was closed");
    vane_free(dir);
    harness_rmtree(tmp);
    return tap_done();
}

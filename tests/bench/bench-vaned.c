/*
 * bench-vaned.c -- a benchmark's vaned: its log looked at, and stopped (see
 * bench-vaned.h).
 */
#include "bench-util.h"
#include "bench-vaned.h"
#include "core/alloc.h"

void bench_vaned_check_log(unsigned *odd, const struct vaned *v, const char *what)
{
    char *log = vaned_log(v);

    bench_odd_log(odd, log, what);
    vane_free(log);
}

void bench_vaned_stop(unsigned *odd, struct vaned *v, const char *what, double timeout_s)
{
    int status = v->pid > 0 ? bench_stop_child(v->pid, timeout_s) : v->status;

    v->pid = 0;
    if (status != 0)
        bench_odd(odd, "%s: vaned stopped with %s", what,
                  bench_describe_status(status, (int)timeout_s));
}

/*
 * bench-vaned.h -- what the benchmarks that run vaned (tests/harness.h's
 * struct vaned) do with it: look at its log, and stop it and say how it
 * went, as "ODD:" lines (bench-util.h's bench_odd).  Kept apart from
 * bench-util, which the in-process benchmarks link without the harness.
 */
#ifndef VANE_BENCH_VANED_H
#define VANE_BENCH_VANED_H

#include "../harness.h"

/* An ODD line for each warning or error v logged; what names it. */
void bench_vaned_check_log(unsigned *odd, const struct vaned *v, const char *what);

/* SIGTERM, and up to timeout_s for the exit: an ODD line unless it exits 0.
 * Its log stays until vaned_cleanup(). */
void bench_vaned_stop(unsigned *odd, struct vaned *v, const char *what, double timeout_s);

#endif

/*
 * timer.h -- delayed events: published with the xvanusdeliverytime
 * extension (an RFC 3339 time, as in Vanus), they reach their eventbus, and
 * so its subscriptions, at that time.
 *
 * The gateway stores an event whose delivery time is more than
 * TIMER_MIN_DELAY_MS away in the system eventbus __timer instead, with the
 * xvanustimerbus extension naming its eventbus.  The timer reads __timer,
 * keeps a heap of (delivery time, offset) of the events it holds -- the
 * events themselves stay on disk -- and when one is due appends it, without
 * xvanustimerbus, to its eventbus, where subscriptions see it as any other
 * event.  How far it got is kept as the committed offset of the system
 * subscription __timer (disabled: no worker delivers it), so after a
 * restart the timer reads __timer again from there: nothing held is lost,
 * and an event whose time passed while vaned was down goes out at start.
 * An event that was moved just before a crash, behind one still held, is
 * moved again (at least once).
 */
#ifndef VANE_TIMER_H
#define VANE_TIMER_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "event/event.h"
#include "store/store.h"

#define TIMER_EVENTBUS "__timer"
#define TIMER_BUS_EXTENSION "xvanustimerbus"
#define TIMER_MIN_DELAY_MS 1000

struct timer;

/* Starts the timer (creating __timer and its subscription the first time). */
int timer_start(struct timer **timer, uv_loop_t *loop, struct store *store);

/* true with *due_ns when event asks to be delivered later than now_ns + TIMER_MIN_DELAY_MS. */
bool timer_is_delayed(const struct event *event, int64_t now_ns, int64_t *due_ns);

/* Events held. */
size_t timer_pending(const struct timer *timer);

/* Commits where it got and stops; closed(arg) runs after.  Before the store closes. */
void timer_close(struct timer *timer, void (*closed)(void *arg), void *arg);

#endif

/*
 * idempotency.h -- which (source, id) pairs each eventbus has stored
 * lately, so a publish retried after a timeout is answered with the event's
 * first position instead of being stored again.
 *
 * Keys are 64-bit fingerprints of (eventbus id, source, id); the value is
 * the stored position (eventlog index and offset), or, while the first
 * publish of the pair is still being made durable, a pointer to it.  A hit
 * on a stored position is only a candidate: the caller reads that event
 * back and compares source and id, so a fingerprint collision never turns a
 * new event into a duplicate.
 *
 * The window is kept as generations: GENERATIONS tables, each filled for
 * window / (GENERATIONS - 1); when the newest is full of time the oldest is
 * dropped whole.  A key therefore stays known for at least the window and
 * at most GENERATIONS / (GENERATIONS - 1) of it, with no per-key timers.
 * Memory: about 24 bytes per event published within the window.
 */
#ifndef VANE_GATEWAY_IDEMPOTENCY_H
#define VANE_GATEWAY_IDEMPOTENCY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/u64map.h"

#define IDEMPOTENCY_GENERATIONS 8

struct idempotency {
    struct u64map stored[IDEMPOTENCY_GENERATIONS]; /* [newest] is being filled */
    unsigned newest;
    uint64_t span_ms, newest_started_ms;
    struct u64map pending; /* key -> the in-flight publish item (a pointer) */
};

/* window_ms 0 turns the window off: nothing is remembered. */
void idempotency_init(struct idempotency *idem, uint64_t window_ms, uint64_t now_ms);
void idempotency_free(struct idempotency *idem);

uint64_t idempotency_key(uint64_t bus_id, const char *source, size_t source_len, const char *id,
                         size_t id_len);

/* true with the position of key's stored event (a candidate; see above). */
bool idempotency_find_stored(struct idempotency *idem, uint64_t key, uint32_t *eventlog,
                             uint64_t *offset, uint64_t now_ms);
/* Forgets a stored candidate that turned out to be another event. */
void idempotency_forget(struct idempotency *idem, uint64_t key);

/* The in-flight item publishing key, or NULL. */
void *idempotency_find_pending(const struct idempotency *idem, uint64_t key);
void idempotency_set_pending(struct idempotency *idem, uint64_t key, void *item);
void idempotency_clear_pending(struct idempotency *idem, uint64_t key);

/* Records that key's event is stored at (eventlog, offset). */
void idempotency_stored(struct idempotency *idem, uint64_t key, uint32_t eventlog,
                        uint64_t offset, uint64_t now_ms);

/* Keys remembered, and the bytes their tables take. */
size_t idempotency_count(const struct idempotency *idem);
size_t idempotency_memory(const struct idempotency *idem);

#endif

/*
 * idempotency.c -- the window of recently stored (source, id) pairs (see
 * idempotency.h).
 */
#include <string.h>

#include "gateway/idempotency.h"

#define OFFSET_BITS 58
#define OFFSET_MASK ((UINT64_C(1) << OFFSET_BITS) - 1)

void idempotency_init(struct idempotency *idem, uint64_t window_ms, uint64_t now_ms)
{
    memset(idem, 0, sizeof(*idem));
    idem->span_ms = window_ms / (IDEMPOTENCY_GENERATIONS - 1);
    if (window_ms > 0 && idem->span_ms == 0)
        idem->span_ms = 1;
    idem->newest_started_ms = now_ms;
}

void idempotency_free(struct idempotency *idem)
{
    for (unsigned i = 0; i < IDEMPOTENCY_GENERATIONS; i++)
        u64map_free(&idem->stored[i]);
    u64map_free(&idem->pending);
}

/* FNV-1a, 64 bits, over the bus id, the source, a separator and the id. */
static uint64_t fnv1a(uint64_t hash, const void *data, size_t len)
{
    const unsigned char *p = data;

    for (size_t i = 0; i < len; i++)
        hash = (hash ^ p[i]) * UINT64_C(0x100000001b3);
    return hash;
}

uint64_t idempotency_key(uint64_t bus_id, const char *source, size_t source_len, const char *id,
                         size_t id_len)
{
    uint64_t hash = UINT64_C(0xcbf29ce484222325);
    unsigned char separator = 0xff; /* never in UTF-8, so ("a", "bc") != ("ab", "c") */

    hash = fnv1a(hash, &bus_id, sizeof(bus_id));
    hash = fnv1a(hash, source, source_len);
    hash = fnv1a(hash, &separator, 1);
    hash = fnv1a(hash, id, id_len);
    return hash != 0 ? hash : 1; /* 0 is the empty slot */
}

/* Drops the generations whose time has passed. */
static void rotate(struct idempotency *idem, uint64_t now_ms)
{
    unsigned steps = 0;

    if (idem->span_ms == 0)
        return;
    while (now_ms - idem->newest_started_ms >= idem->span_ms && steps < IDEMPOTENCY_GENERATIONS) {
        idem->newest = (idem->newest + 1) % IDEMPOTENCY_GENERATIONS;
        u64map_free(&idem->stored[idem->newest]);
        idem->newest_started_ms += idem->span_ms;
        steps++;
    }
    if (now_ms - idem->newest_started_ms >= idem->span_ms)
        idem->newest_started_ms = now_ms; /* idle for longer than the window */
}

bool idempotency_find_stored(struct idempotency *idem, uint64_t key, uint32_t *eventlog,
                             uint64_t *offset, uint64_t now_ms)
{
    uint64_t value;

    rotate(idem, now_ms);
    for (unsigned i = 0; i < IDEMPOTENCY_GENERATIONS; i++) {
        if (u64map_get(&idem->stored[i], key, &value)) {
            *eventlog = (uint32_t)(value >> OFFSET_BITS);
            *offset = value & OFFSET_MASK;
            return true;
        }
    }
    return false;
}

void idempotency_forget(struct idempotency *idem, uint64_t key)
{
    for (unsigned i = 0; i < IDEMPOTENCY_GENERATIONS; i++)
        u64map_remove(&idem->stored[i], key);
}

void *idempotency_find_pending(const struct idempotency *idem, uint64_t key)
{
    uint64_t value;

    return u64map_get(&idem->pending, key, &value) ? (void *)(uintptr_t)value : NULL;
}

void idempotency_set_pending(struct idempotency *idem, uint64_t key, void *item)
{
    if (idem->span_ms > 0)
        u64map_put(&idem->pending, key, (uint64_t)(uintptr_t)item);
}

void idempotency_clear_pending(struct idempotency *idem, uint64_t key)
{
    u64map_remove(&idem->pending, key);
}

void idempotency_stored(struct idempotency *idem, uint64_t key, uint32_t eventlog,
                        uint64_t offset, uint64_t now_ms)
{
    if (idem->span_ms == 0)
        return;
    rotate(idem, now_ms);
    u64map_put(&idem->stored[idem->newest], key,
               (uint64_t)eventlog << OFFSET_BITS | (offset & OFFSET_MASK));
}

size_t idempotency_count(const struct idempotency *idem)
{
    size_t count = 0;

    for (unsigned i = 0; i < IDEMPOTENCY_GENERATIONS; i++)
        count += idem->stored[i].count;
    return count;
}

size_t idempotency_memory(const struct idempotency *idem)
{
    size_t bytes = u64map_memory(&idem->pending);

    for (unsigned i = 0; i < IDEMPOTENCY_GENERATIONS; i++)
        bytes += u64map_memory(&idem->stored[i]);
    return bytes;
}

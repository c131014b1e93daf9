/*
 * u64map.h -- a hash table from 64-bit keys to 64-bit values.
 *
 * Open addressing with linear probing and backward-shift deletion, so there
 * are no tombstones; it doubles when three quarters full.  Keys are expected
 * to be hashes already (they are used as they are, after one mixing step);
 * the key 0 is reserved: callers map it to another value.  16 bytes a slot.
 */
#ifndef VANE_CORE_U64MAP_H
#define VANE_CORE_U64MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct u64map_slot {
    uint64_t key, value;
};

struct u64map {
    struct u64map_slot *slots;
    size_t mask; /* capacity - 1; capacity is a power of two */
    size_t count;
};

#define U64MAP_INIT {NULL, 0, 0}

/* Sets key to value, replacing any value it had.  key must not be 0. */
void u64map_put(struct u64map *map, uint64_t key, uint64_t value);
/* true with *value when key is present. */
bool u64map_get(const struct u64map *map, uint64_t key, uint64_t *value);
/* true when key was present (and now is not). */
bool u64map_remove(struct u64map *map, uint64_t key);
/*
 * Walks the entries: start with *cursor = 0; each call gives the next one
 * and returns false at the end.  The map must not change during the walk.
 */
bool u64map_next(const struct u64map *map, size_t *cursor, uint64_t *key, uint64_t *value);
/* Bytes of memory the table holds. */
size_t u64map_memory(const struct u64map *map);
void u64map_free(struct u64map *map);

#endif

/*
 * u64map.c -- linear probing over a power-of-two table (see u64map.h).
 *
 * Removal shifts the following entries of the probe run back into the hole
 * (Knuth's algorithm R), so a lookup can stop at the first empty slot.
 */
#include "core/alloc.h"
#include "core/u64map.h"

#define U64MAP_MIN_CAPACITY 16

static size_t slot_of(uint64_t key, size_t mask)
{
    /* Fibonacci hashing spreads keys whose low bits agree. */
    return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & mask;
}

static void grow(struct u64map *map)
{
    size_t old_cap = map->slots ? map->mask + 1 : 0;
    size_t cap = old_cap ? old_cap * 2 : U64MAP_MIN_CAPACITY;
    struct u64map_slot *old = map->slots;

    map->slots = vane_calloc(cap, sizeof(*map->slots));
    map->mask = cap - 1;
    map->count = 0;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].key != 0)
            u64map_put(map, old[i].key, old[i].value);
    vane_free(old);
}

void u64map_put(struct u64map *map, uint64_t key, uint64_t value)
{
    size_t i;

    if (map->slots == NULL || (map->count + 1) * 4 > (map->mask + 1) * 3)
        grow(map);
    for (i = slot_of(key, map->mask); map->slots[i].key != 0; i = (i + 1) & map->mask) {
        if (map->slots[i].key == key) {
            map->slots[i].value = value;
            return;
        }
    }
    map->slots[i].key = key;
    map->slots[i].value = value;
    map->count++;
}

static bool find(const struct u64map *map, uint64_t key, size_t *at)
{
    if (map->slots == NULL)
        return false;
    for (size_t i = slot_of(key, map->mask); map->slots[i].key != 0; i = (i + 1) & map->mask) {
        if (map->slots[i].key == key) {
            *at = i;
            return true;
        }
    }
    return false;
}

bool u64map_get(const struct u64map *map, uint64_t key, uint64_t *value)
{
    size_t i;

    if (!find(map, key, &i))
        return false;
    *value = map->slots[i].value;
    return true;
}

bool u64map_remove(struct u64map *map, uint64_t key)
{
    size_t hole, i;

    if (!find(map, key, &hole))
        return false;
    for (i = (hole + 1) & map->mask; map->slots[i].key != 0; i = (i + 1) & map->mask) {
        size_t home = slot_of(map->slots[i].key, map->mask);

        /* Move the entry back unless its home lies cyclically in (hole, i]. */
        if (((i - home) & map->mask) >= ((i - hole) & map->mask)) {
            map->slots[hole] = map->slots[i];
            hole = i;
        }
    }
    map->slots[hole].key = 0;
    map->count--;
    return true;
}

bool u64map_next(const struct u64map *map, size_t *cursor, uint64_t *key, uint64_t *value)
{
    for (; map->slots != NULL && *cursor <= map->mask; (*cursor)++) {
        if (map->slots[*cursor].key != 0) {
            *key = map->slots[*cursor].key;
            *value = map->slots[(*cursor)++].value;
            return true;
        }
    }
    return false;
}

size_t u64map_memory(const struct u64map *map)
{
    return map->slots ? (map->mask + 1) * sizeof(*map->slots) : 0;
}

void u64map_free(struct u64map *map)
{
    vane_free(map->slots);
    map->slots = NULL;
    map->mask = 0;
    map->count = 0;
}

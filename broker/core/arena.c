/*
 * arena.c -- chunked bump allocation (see arena.h).
 *
 * Allocations come from the newest chunk while they fit; a new chunk is at
 * least ARENA_CHUNK bytes, or as large as the request that did not fit.
 */
#include <stdalign.h>
#include <stdint.h>
#include <string.h>

#include "core/alloc.h"
#include "core/arena.h"

#define ARENA_CHUNK 4096

struct vane_arena_chunk {
    struct vane_arena_chunk *next;
    size_t used, cap;
    alignas(max_align_t) unsigned char bytes[];
};

void *vane_arena_alloc(struct vane_arena *arena, size_t size)
{
    struct vane_arena_chunk *chunk = arena->chunks;
    size_t aligned = (size + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);

    if (chunk == NULL || chunk->cap - chunk->used < aligned) {
        size_t cap = aligned > ARENA_CHUNK ? aligned : ARENA_CHUNK;

        chunk = vane_malloc(sizeof(*chunk) + cap);
        chunk->used = 0;
        chunk->cap = cap;
        chunk->next = arena->chunks;
        arena->chunks = chunk;
    }
    chunk->used += aligned;
    return chunk->bytes + chunk->used - aligned;
}

char *vane_arena_strndup(struct vane_arena *arena, const char *s, size_t len)
{
    char *copy = vane_arena_alloc(arena, len + 1);

    memcpy(copy, s, len);
    copy[len] = '\0';
    return copy;
}

void vane_arena_free(struct vane_arena *arena)
{
    while (arena->chunks != NULL) {
        struct vane_arena_chunk *next = arena->chunks->next;

        vane_free(arena->chunks);
        arena->chunks = next;
    }
}

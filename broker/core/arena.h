/*
 * arena.h -- many small allocations freed together.
 *
 * A parser that fills a struct event (which only points at its bytes) puts
 * the bytes it has to make -- decoded base64, percent-decoded header values,
 * re-serialized JSON -- into an arena, and frees the arena when the events
 * have been stored.  Memory comes in chunks; a pointer stays valid until
 * vane_arena_free().
 */
#ifndef VANE_CORE_ARENA_H
#define VANE_CORE_ARENA_H

#include <stddef.h>

struct vane_arena_chunk;

struct vane_arena {
    struct vane_arena_chunk *chunks;
};

#define VANE_ARENA_INIT {NULL}

/* size bytes, aligned for any type; never NULL (vane_malloc aborts). */
void *vane_arena_alloc(struct vane_arena *arena, size_t size);
/* A NUL-terminated copy of len bytes. */
char *vane_arena_strndup(struct vane_arena *arena, const char *s, size_t len);
void vane_arena_free(struct vane_arena *arena);

#endif

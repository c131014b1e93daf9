/*
 * alloc.c -- allocation wrappers that abort on exhaustion (see alloc.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

static void out_of_memory(size_t size)
{
    /* No logger here: it may itself need memory.  stderr is unbuffered. */
    fprintf(stderr, "vane: out of memory allocating %zu bytes\n", size);
    abort();
}

void *vane_malloc(size_t size)
{
    void *p = malloc(size ? size : 1);

    if (p == NULL)
        out_of_memory(size);
    return p;
}

void *vane_calloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);

    if (p == NULL)
        out_of_memory(count * size);
    return p;
}

void *vane_realloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);

    if (p == NULL)
        out_of_memory(size);
    return p;
}

char *vane_strndup(const char *s, size_t len)
{
    char *p = vane_malloc(len + 1);

    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *vane_strdup(const char *s)
{
    return vane_strndup(s, strlen(s));
}

char *vane_asprintf(const char *fmt, ...)
{
    va_list ap;
    char *s;

    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        out_of_memory(0);
    va_end(ap);
    return s;
}

void vane_free(void *ptr)
{
    free(ptr);
}

/*
 * alloc.h -- allocation wrappers.
 *
 * The broker treats running out of memory as fatal, as Redis and nginx do:
 * these wrappers log and abort instead of returning NULL, so no caller
 * carries an error branch that would never be tested.  Memory that outside
 * input can make large (request bodies, batches) is bounded by limits
 * checked before it is allocated, not by malloc failing.
 */
#ifndef VANE_CORE_ALLOC_H
#define VANE_CORE_ALLOC_H

#include <stddef.h>

void *vane_malloc(size_t size);
void *vane_calloc(size_t count, size_t size);
void *vane_realloc(void *ptr, size_t size);
char *vane_strdup(const char *s);
char *vane_strndup(const char *s, size_t len);
/* printf into a new string; the caller frees it with vane_free(). */
char *vane_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vane_free(void *ptr);

/* Allocates one zeroed object of the pointed-to type: p = VANE_NEW(p). */
#define VANE_NEW(p) vane_calloc(1, sizeof(*(p)))

#endif

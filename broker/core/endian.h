/*
 * endian.h -- little-endian integers in byte buffers, as every format of
 * the broker writes them (store records and batches, the engine's frames,
 * the peer port's frames).  Byte by byte, so any host reads them the same
 * and no alignment is assumed; compilers turn each into one load or store.
 */
#ifndef VANE_CORE_ENDIAN_H
#define VANE_CORE_ENDIAN_H

#include <stdint.h>

static inline void vane_put_le(void *out, uint64_t v, unsigned bytes)
{
    uint8_t *p = out;

    for (unsigned i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t vane_get_le(const void *in, unsigned bytes)
{
    const uint8_t *p = in;
    uint64_t v = 0;

    for (unsigned i = 0; i < bytes; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static inline void vane_put16(void *p, uint16_t v) { vane_put_le(p, v, 2); }
static inline void vane_put32(void *p, uint32_t v) { vane_put_le(p, v, 4); }
static inline void vane_put64(void *p, uint64_t v) { vane_put_le(p, v, 8); }
static inline uint16_t vane_get16(const void *p) { return (uint16_t)vane_get_le(p, 2); }
static inline uint32_t vane_get32(const void *p) { return (uint32_t)vane_get_le(p, 4); }
static inline uint64_t vane_get64(const void *p) { return vane_get_le(p, 8); }

#endif

/*
 * crc32c.c -- CRC-32C in hardware where the CPU has it, else by table
 * (see crc32c.h).  Both paths give the same value; tests/test-core.c checks
 * them against the standard check value of "123456789" (0xE3069283).
 */
#include <stdbool.h>
#include <string.h>

#include "core/crc32c.h"

#define POLY 0x82F63B78u /* reflected Castagnoli polynomial */

static uint32_t table[256];

static void build_table(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;

        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (POLY & (0u - (c & 1u)));
        table[i] = c;
    }
}

static uint32_t crc_table(uint32_t crc, const unsigned char *p, size_t len)
{
    while (len--)
        crc = (crc >> 8) ^ table[(crc ^ *p++) & 0xFF];
    return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t crc, const unsigned char *p,
                                                          size_t len)
{
    uint64_t c = crc;

    for (; len >= 8; p += 8, len -= 8) {
        uint64_t word;

        memcpy(&word, p, 8);
        c = __builtin_ia32_crc32di(c, word);
    }
    crc = (uint32_t)c;
    for (; len > 0; p++, len--)
        crc = __builtin_ia32_crc32qi(crc, *p);
    return crc;
}
#endif

static uint32_t (*impl)(uint32_t, const unsigned char *, size_t);

__attribute__((constructor)) static void crc32c_init(void)
{
    build_table();
    impl = crc_table;
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("sse4.2"))
        impl = crc_hw;
#endif
}

uint32_t vane_crc32c(uint32_t crc, const void *data, size_t len)
{
    return ~impl(~crc, data, len);
}

/* For the tests: the table path, whatever the CPU. */
uint32_t vane_crc32c_sw(uint32_t crc, const void *data, size_t len);
uint32_t vane_crc32c_sw(uint32_t crc, const void *data, size_t len)
{
    return ~crc_table(~crc, data, len);
}

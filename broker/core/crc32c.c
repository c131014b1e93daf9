/*
 * crc32c.c -- CRC-32C in hardware where the CPU has it, else by table
 * (see crc32c.h).  Both paths give the same value; tests/test-record.c
 * checks them against the standard check value of "123456789" (0xE3069283)
 * and against each other over lengths that take every branch.
 *
 * The hardware path runs three CRCs at once.  The crc32 instruction takes
 * three cycles to give its result but can start one every cycle, so one
 * chain of them over a record runs at a third of the speed the CPU has;
 * every record is checked when read and sealed when written, so that third
 * showed in the delivery path.  A block of 3 * n bytes is taken as three
 * streams of n bytes, each with its own CRC register, and they are joined
 * by linearity: the register after A then B is the register after A moved
 * past n zero bytes, XOR the register of B alone (from zero).  Moving a
 * register past n zero bytes is linear in its 32 bits, so it is four table
 * lookups (shift_long / shift_short, one table per byte of the register),
 * made at start-up from the registers of the 32 single bits.
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
#define LONG_STREAM 2048 /* bytes per stream of a long block (records of several KiB) */
#define SHORT_STREAM 128 /* bytes per stream of a short block (a 1 KiB record takes two) */

/* Moving a register past LONG_STREAM or SHORT_STREAM zero bytes, by the register's bytes. */
static uint32_t shift_long[4][256], shift_short[4][256];

/* The register c moved past n zero bytes, bit by bit (for the tables only). */
static uint32_t zeros_slow(uint32_t c, size_t n)
{
    while (n--)
        c = (c >> 8) ^ table[c & 0xFF];
    return c;
}

/* shift[k][v] for every byte k and value v, by linearity from the 32 single bits. */
static void build_shift(uint32_t shift[4][256], size_t n)
{
    uint32_t bit[32];

    for (int b = 0; b < 32; b++)
        bit[b] = zeros_slow(1u << b, n);
    for (int k = 0; k < 4; k++)
        for (uint32_t v = 0; v < 256; v++) {
            uint32_t c = 0;

            for (int b = 0; b < 8; b++)
                if (v & (1u << b))
                    c ^= bit[8 * k + b];
            shift[k][v] = c;
        }
}

static uint32_t shift(const uint32_t t[4][256], uint32_t c)
{
    return t[0][c & 0xFF] ^ t[1][(c >> 8) & 0xFF] ^ t[2][(c >> 16) & 0xFF] ^ t[3][c >> 24];
}

static uint64_t word_at(const unsigned char *p)
{
    uint64_t word;

    memcpy(&word, p, 8);
    return word;
}

/* Blocks of three streams of n bytes while they last; returns the register, moves *p and *len. */
__attribute__((target("sse4.2"))) static uint32_t crc_blocks(uint32_t crc,
                                                              const unsigned char **p,
                                                              size_t *len, size_t n,
                                                              const uint32_t t[4][256])
{
    while (*len >= 3 * n) {
        const unsigned char *a = *p, *end = a + n;
        uint64_t c0 = crc, c1 = 0, c2 = 0;

        for (; a < end; a += 8) {
            c0 = __builtin_ia32_crc32di(c0, word_at(a));
            c1 = __builtin_ia32_crc32di(c1, word_at(a + n));
            c2 = __builtin_ia32_crc32di(c2, word_at(a + 2 * n));
        }
        crc = shift(t, shift(t, (uint32_t)c0) ^ (uint32_t)c1) ^ (uint32_t)c2;
        *p += 3 * n;
        *len -= 3 * n;
    }
    return crc;
}

__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t crc, const unsigned char *p,
                                                          size_t len)
{
    uint64_t c;

    crc = crc_blocks(crc, &p, &len, LONG_STREAM, shift_long);
    c = crc_blocks(crc, &p, &len, SHORT_STREAM, shift_short);
    for (; len >= 8; p += 8, len -= 8)
        c = __builtin_ia32_crc32di(c, word_at(p));
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
    if (__builtin_cpu_supports("sse4.2")) {
        build_shift(shift_long, LONG_STREAM);
        build_shift(shift_short, SHORT_STREAM);
        impl = crc_hw;
    }
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

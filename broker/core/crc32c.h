/*
 * crc32c.h -- CRC-32C (Castagnoli), the checksum of every stored record.
 *
 * CRC-32C rather than the zlib CRC-32 because x86-64 computes it in
 * hardware (SSE 4.2); the implementation picks that path at run time and
 * falls back to a table otherwise.  No Debian package offers CRC-32C for C,
 * hence this small file.
 */
#ifndef VANE_CORE_CRC32C_H
#define VANE_CORE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extends crc (0 to start) over len bytes of data. */
uint32_t vane_crc32c(uint32_t crc, const void *data, size_t len);

#endif

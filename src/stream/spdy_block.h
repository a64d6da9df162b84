/* SPDY/3 header blocks: a count and length-prefixed names and values, sent
 * through one zlib stream per direction per connection, primed with the
 * dictionary the spec fixes. Split from spdy.c, which frames them. */
#ifndef CS_SPDY_BLOCK_H
#define CS_SPDY_BLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#include "util/error.h"

static inline void spdy_put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static inline void spdy_put24(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 16);
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)v;
}

static inline uint32_t spdy_get32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint32_t spdy_get24(const unsigned char *p)
{
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

/* A connection's two zlib streams; the deflate one primed with the
 * dictionary (the inflate one asks for it when the peer's header says so). */
int spdy_block_zinit(z_stream *in, z_stream *out, cs_error *err);
void spdy_block_zend(z_stream *in, z_stream *out);

/* The uncompressed block of a NULL-terminated n0, v0, n1, v1, ... array
 * (malloc'd). */
int spdy_block_build(const char *const *h, unsigned char **out, size_t *outlen, cs_error *err);

/* Compresses a block into *out (malloc'd) at offset `at`, leaving room in
 * front for the frame header. The stream spans the connection: one caller
 * at a time. */
int spdy_block_deflate(z_stream *z, const unsigned char *in, size_t n, size_t at, unsigned char **out,
                       size_t *outlen, cs_error *err);

/* Decompresses and parses a received block into a NULL-terminated n, v, ...
 * array in one allocation (free it alone). -1 with *why on a bad block,
 * which ends the connection: the zlib stream can't be trusted after it. */
int spdy_block_read(z_stream *z, const unsigned char *block, size_t n, char ***out, const char **why);

#endif

/* SPDY/3 name/value header blocks (see spdy_block.h): the format, and its
 * zlib compression primed with the spec's dictionary. */
#include "stream/spdy_block.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "stream/spdy.h"
#include "util/log.h"
#include "util/mem.h"

/* ---- the SPDY/3 header compression dictionary (draft 3.1, section 2.6.10.1) ----
 * Sixty-five words, each preceded by its length as a 32-bit big-endian number,
 * then one run of status lines, dates and media types: 1423 bytes whose
 * adler32 (0xe3c6a7c2) both sides put in the zlib header. */

static const char *const dict_words[] = {
    "options", "head", "post", "put", "delete", "trace", "accept", "accept-charset",
    "accept-encoding", "accept-language", "accept-ranges", "age", "allow", "authorization",
    "cache-control", "connection", "content-base", "content-encoding", "content-language",
    "content-length", "content-location", "content-md5", "content-range", "content-type", "date",
    "etag", "expect", "expires", "from", "host", "if-match", "if-modified-since", "if-none-match",
    "if-range", "if-unmodified-since", "last-modified", "location", "max-forwards", "pragma",
    "proxy-authenticate", "proxy-authorization", "range", "referer", "retry-after", "server", "te",
    "trailer", "transfer-encoding", "upgrade", "user-agent", "vary", "via", "warning",
    "www-authenticate", "method", "get", "status", "200 OK", "version", "HTTP/1.1", "url", "public",
    "set-cookie", "keep-alive", "origin",
};

static const char dict_tail[] =
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
    "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 "
    "Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 "
    "Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, "
    "Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,"
    "application/xml,application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age="
    "gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.";

#define DICT_SIZE 1423
static unsigned char dict[DICT_SIZE];
static pthread_once_t dict_once = PTHREAD_ONCE_INIT;

static void dict_build(void)
{
    size_t o = 0;
    for (size_t i = 0; i < sizeof dict_words / sizeof dict_words[0]; i++) {
        size_t n = strlen(dict_words[i]);
        spdy_put32(dict + o, (uint32_t)n);
        memcpy(dict + o + 4, dict_words[i], n);
        o += 4 + n;
    }
    if (o + sizeof dict_tail - 1 != DICT_SIZE)
        cs_die("spdy: header dictionary has the wrong size");
    memcpy(dict + o, dict_tail, sizeof dict_tail - 1);
}

int spdy_block_zinit(z_stream *in, z_stream *out, cs_error *err)
{
    pthread_once(&dict_once, dict_build);
    memset(in, 0, sizeof *in);
    memset(out, 0, sizeof *out);
    if (inflateInit(in) != Z_OK)
        return cs_error_set(err, CS_ERR_INTERNAL, "spdy: inflateInit failed");
    if (deflateInit(out, Z_DEFAULT_COMPRESSION) != Z_OK) {
        inflateEnd(in);
        return cs_error_set(err, CS_ERR_INTERNAL, "spdy: deflateInit failed");
    }
    if (deflateSetDictionary(out, dict, DICT_SIZE) != Z_OK) {
        inflateEnd(in);
        deflateEnd(out);
        return cs_error_set(err, CS_ERR_INTERNAL, "spdy: deflateSetDictionary failed");
    }
    return 0;
}

void spdy_block_zend(z_stream *in, z_stream *out)
{
    inflateEnd(in);
    deflateEnd(out);
}

int spdy_block_deflate(z_stream *z, const unsigned char *in, size_t n, size_t at, unsigned char **out,
                       size_t *outlen, cs_error *err)
{
    size_t cap = at + n + 64;
    unsigned char *buf = cs_xmalloc(cap);
    size_t len = at;
    z->next_in = (Bytef *)in;
    z->avail_in = (uInt)n;
    for (;;) {
        if (len == cap) {
            cap *= 2;
            buf = cs_xrealloc(buf, cap);
        }
        z->next_out = buf + len;
        z->avail_out = (uInt)(cap - len);
        int rc = deflate(z, Z_SYNC_FLUSH);
        len = cap - z->avail_out;
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            free(buf);
            return cs_error_set(err, CS_ERR_INTERNAL, "spdy: deflate failed (%d)", rc);
        }
        if (z->avail_out > 0 && z->avail_in == 0)
            break;
    }
    *out = buf;
    *outlen = len;
    return 0;
}

int spdy_block_build(const char *const *h, unsigned char **out, size_t *outlen, cs_error *err)
{
    size_t count = 0, size = 4;
    for (; h && h[2 * count]; count++) {
        if (!h[2 * count + 1])
            return cs_error_set(err, CS_ERR_INVALID, "spdy: header %s has no value", h[2 * count]);
        if (!*h[2 * count])
            return cs_error_set(err, CS_ERR_INVALID, "spdy: empty header name");
        size += 8 + strlen(h[2 * count]) + strlen(h[2 * count + 1]);
        if (size > SPDY_MAX_HEADER_BLOCK)
            return cs_error_set(err, CS_ERR_INVALID, "spdy: headers larger than %u bytes",
                                SPDY_MAX_HEADER_BLOCK);
    }
    unsigned char *b = cs_xmalloc(size), *p = b;
    spdy_put32(p, (uint32_t)count);
    p += 4;
    for (size_t i = 0; i < 2 * count; i++) {
        size_t l = strlen(h[i]);
        spdy_put32(p, (uint32_t)l);
        memcpy(p + 4, h[i], l);
        p += 4 + l;
    }
    *out = b;
    *outlen = size;
    return 0;
}

static int inflate_block(z_stream *z, const unsigned char *in, size_t n, unsigned char **out, size_t *outlen,
                         const char **why)
{
    size_t cap = 1024, len = 0;
    unsigned char *buf = cs_xmalloc(cap);
    z->next_in = (Bytef *)in;
    z->avail_in = (uInt)n;
    for (;;) {
        if (len == cap) {
            if (cap >= SPDY_MAX_HEADER_BLOCK) {
                *why = "header block too large";
                goto fail;
            }
            cap = cap * 2 > SPDY_MAX_HEADER_BLOCK ? SPDY_MAX_HEADER_BLOCK : cap * 2;
            buf = cs_xrealloc(buf, cap);
        }
        z->next_out = buf + len;
        z->avail_out = (uInt)(cap - len);
        int rc = inflate(z, Z_SYNC_FLUSH);
        len = cap - z->avail_out;
        if (rc == Z_NEED_DICT) {
            if (inflateSetDictionary(z, dict, DICT_SIZE) != Z_OK) {
                *why = "header block needs an unknown dictionary";
                goto fail;
            }
            continue;
        }
        if (rc == Z_BUF_ERROR && z->avail_in == 0 && z->avail_out > 0)
            break; /* everything consumed, nothing more to give */
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            *why = "corrupt header block";
            goto fail;
        }
        if (z->avail_in == 0 && z->avail_out > 0)
            break;
        if (rc == Z_BUF_ERROR && z->avail_out > 0) {
            *why = "corrupt header block";
            goto fail;
        }
    }
    *out = buf;
    *outlen = len;
    return 0;
fail:
    free(buf);
    return -1;
}

/* Parses a decompressed name/value block into a NULL-terminated n, v, ...
 * array in one allocation. */
static int parse_block(const unsigned char *p, size_t n, char ***out, const char **why)
{
    if (n < 4)
        goto bad;
    uint32_t count = spdy_get32(p);
    if (count > (n - 4) / 8)
        goto bad;
    /* pass 1: validate */
    size_t o = 4;
    for (uint32_t i = 0; i < 2 * count; i++) {
        if (n - o < 4)
            goto bad;
        uint32_t l = spdy_get32(p + o);
        o += 4;
        if (l > n - o || (l == 0 && i % 2 == 0))
            goto bad;
        o += l;
    }
    /* pass 2: pointers, then the strings, each NUL-terminated */
    size_t nptr = 2 * (size_t)count + 1;
    char **h = cs_xmalloc(nptr * sizeof *h + n + 2 * (size_t)count);
    char *s = (char *)(h + nptr);
    o = 4;
    for (uint32_t i = 0; i < 2 * count; i++) {
        uint32_t l = spdy_get32(p + o);
        memcpy(s, p + o + 4, l);
        s[l] = '\0';
        h[i] = s;
        s += l + 1;
        o += 4 + l;
    }
    h[2 * count] = NULL;
    *out = h;
    return 0;
bad:
    *why = "malformed header block";
    return -1;
}

int spdy_block_read(z_stream *z, const unsigned char *block, size_t n, char ***out, const char **why)
{
    *out = NULL;
    if (n == 0) { /* no block at all: no headers, and the zlib stream untouched */
        *out = cs_xcalloc(1, sizeof **out);
        return 0;
    }
    unsigned char *raw;
    size_t nraw;
    if (inflate_block(z, block, n, &raw, &nraw, why) < 0)
        return -1;
    int rc = parse_block(raw, nraw, out, why);
    free(raw);
    return rc;
}

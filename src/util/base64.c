/* Base64 encode/decode; see base64.h. The decoder is lenient about alphabet and
 * padding because auth strings come from kubelet configs and users' tools, and
 * strict about everything else so garbage is reported, not half-decoded. */
#include "util/base64.h"

#include <stdint.h>
#include <stdlib.h>

#include "util/mem.h"

static const char std_alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *cs_base64_encode(const void *data, size_t len, bool url_safe)
{
    if (len > (SIZE_MAX - 1) / 4 * 3 - 2)
        cs_die("base64: input too large");
    const char *alpha = url_safe ? url_alpha : std_alpha;
    const unsigned char *in = data;
    char *out = cs_xmalloc((len + 2) / 3 * 4 + 1);
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        unsigned long v = (unsigned long)in[i] << 16;
        if (i + 1 < len)
            v |= (unsigned long)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        out[o++] = alpha[(v >> 18) & 63];
        out[o++] = alpha[(v >> 12) & 63];
        out[o++] = i + 1 < len ? alpha[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? alpha[v & 63] : '=';
    }
    out[o] = '\0';
    return out;
}

static int value_of(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

/* Unused low bits of the last character need not be zero: Go's default
 * decoder, which produced most of what we read, does not insist either. */
int cs_base64_decode(const char *s, size_t len, unsigned char **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (!s && len)
        return -1;
    size_t pad = 0;
    while (len > 0 && s[len - 1] == '=' && pad < 2) {
        len--;
        pad++;
    }
    /* A lone trailing character carries 6 bits, less than a byte. */
    if (len % 4 == 1 || (pad && (len + pad) % 4 != 0))
        return -1;
    unsigned char *buf = cs_xmalloc(len / 4 * 3 + 3);
    size_t o = 0;
    unsigned long acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = value_of(s[i]);
        if (v < 0) {
            free(buf);
            return -1;
        }
        acc = ((acc << 6) | (unsigned long)v) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[o++] = (unsigned char)((acc >> bits) & 0xff);
        }
    }
    buf[o] = '\0';
    *out = buf;
    *out_len = o;
    return 0;
}

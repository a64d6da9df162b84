/* One-file ustar archives; see tar.h. */
#include "backend/tar.h"

#include <stdio.h>
#include <string.h>

#include "util/mem.h"

char *cs_tar_one_file(const char *name, const char *data, size_t len, size_t *out_len)
{
    size_t padded = (len + 511) / 512 * 512;
    size_t total = 512 + padded + 1024;
    char *t = cs_xcalloc(1, total);
    snprintf(t, 100, "%s", name);
    snprintf(t + 100, 8, "%07o", 0755);
    snprintf(t + 108, 8, "%07o", 0);
    snprintf(t + 116, 8, "%07o", 0);
    snprintf(t + 124, 12, "%011llo", (unsigned long long)len);
    snprintf(t + 136, 12, "%011o", 0);
    t[156] = '0';
    memcpy(t + 257, "ustar", 6);
    memcpy(t + 263, "00", 2);
    memset(t + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < 512; i++)
        sum += (unsigned char)t[i];
    snprintf(t + 148, 8, "%06o", sum);
    t[155] = ' ';
    if (len)
        memcpy(t + 512, data, len);
    *out_len = total;
    return t;
}

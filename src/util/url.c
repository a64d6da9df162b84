/* Percent-encoding; see url.h. */
#include "util/url.h"

#include <ctype.h>
#include <string.h>

static char *escape(const char *s, const char *keep, cs_arena *a)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = cs_arena_alloc(a, n * 3 + 1);
    char *p = out;
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (isalnum(*c) || strchr("-._~", *c) || (*c && strchr(keep, *c))) {
            *p++ = (char)*c;
        } else {
            *p++ = '%';
            *p++ = hex[*c >> 4];
            *p++ = hex[*c & 15];
        }
    }
    *p = '\0';
    return out;
}

char *cs_url_query_escape(const char *s, cs_arena *a)
{
    return escape(s ? s : "", "", a);
}

char *cs_url_path_escape(const char *s, cs_arena *a)
{
    return escape(s ? s : "", "/:@", a);
}

/* JSON writer: a growable buffer that places commas itself and escapes
 * strings (quotes, backslash, control characters, U+2028/2029; invalid UTF-8
 * becomes U+FFFD). See json.h. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/json.h"
#include "util/mem.h"

void cs_jw_init(cs_jw *w)
{
    memset(w, 0, sizeof *w);
    w->cap = 256;
    w->buf = cs_xmalloc(w->cap);
    w->buf[0] = '\0';
}

void cs_jw_free(cs_jw *w)
{
    free(w->buf);
    memset(w, 0, sizeof *w);
}

char *cs_jw_take(cs_jw *w, size_t *len)
{
    char *s = w->buf ? w->buf : cs_xstrdup("");
    if (len)
        *len = w->len;
    memset(w, 0, sizeof *w);
    return s;
}

const char *cs_jw_str_view(const cs_jw *w)
{
    return w->buf ? w->buf : "";
}

/* Containers opened deeper than CS_JW_MAX_DEPTH are written as null and
 * everything inside them is dropped: the output stays valid JSON and the comma
 * stack is never indexed past its end. `depth` keeps counting the real nesting
 * so the matching closes find their level again. */
static bool dropping(const cs_jw *w)
{
    return w->depth > CS_JW_MAX_DEPTH;
}

static void put(cs_jw *w, const char *s, size_t n)
{
    if (dropping(w))
        return;
    if (n > SIZE_MAX / 4 || w->len + n + 1 > SIZE_MAX / 2)
        cs_die("JSON writer: text too large");
    cs_xgrow(&w->buf, &w->cap, w->len + n + 1, 256); /* from 256: a taken writer written to again */
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = '\0';
}

/* Before any value: a comma unless first in its container, nothing after a key. */
static void before_value(cs_jw *w)
{
    if (dropping(w))
        return;
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (w->need_comma[w->depth])
        put(w, ",", 1);
    w->need_comma[w->depth] = true;
}

static void jw_open(cs_jw *w, char c)
{
    if (w->depth >= CS_JW_MAX_DEPTH) {
        if (w->depth == CS_JW_MAX_DEPTH)
            cs_jw_null(w);
        w->depth++;
        return;
    }
    before_value(w);
    put(w, &c, 1);
    w->depth++;
    w->need_comma[w->depth] = false;
}

static void jw_close(cs_jw *w, char c)
{
    put(w, &c, 1);
    if (w->depth > 0)
        w->depth--;
}

void cs_jw_obj_begin(cs_jw *w)
{
    jw_open(w, '{');
}

void cs_jw_obj_end(cs_jw *w)
{
    jw_close(w, '}');
}

void cs_jw_arr_begin(cs_jw *w)
{
    jw_open(w, '[');
}

void cs_jw_arr_end(cs_jw *w)
{
    jw_close(w, ']');
}

/* Length of a valid UTF-8 sequence at s (n bytes left), 0 if invalid:
 * overlong forms, UTF-16 surrogates, code points past U+10FFFF, bytes C0, C1
 * and F5..FF, stray continuation bytes and truncated sequences. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned long min, cp;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2, min = 0x80, cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3, min = 0x800, cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4, min = 0x10000, cp = c & 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* The escape for the character at u[i] (setting *adv to its length in bytes),
 * or NULL if it is copied as is. ubuf holds a \u00XX form. */
static const char *escape_for(const unsigned char *u, size_t i, size_t n, size_t *adv, char ubuf[8])
{
    unsigned char c = u[i];
    *adv = 1;
    switch (c) {
    case '"':
        return "\\\"";
    case '\\':
        return "\\\\";
    case '\n':
        return "\\n";
    case '\r':
        return "\\r";
    case '\t':
        return "\\t";
    case '\b':
        return "\\b";
    case '\f':
        return "\\f";
    }
    if (c < 0x20) {
        snprintf(ubuf, 8, "\\u%04x", c);
        return ubuf;
    }
    if (c < 0x80)
        return NULL;
    *adv = utf8_len(u + i, n - i);
    if (*adv == 0) {
        *adv = 1; /* each byte of a bad sequence becomes one U+FFFD */
        return "\xef\xbf\xbd";
    }
    /* U+2028/2029 are valid JSON but end a line in JavaScript */
    if (*adv == 3 && c == 0xe2 && u[i + 1] == 0x80 && (u[i + 2] == 0xa8 || u[i + 2] == 0xa9))
        return u[i + 2] == 0xa8 ? "\\u2028" : "\\u2029";
    return NULL;
}

static void put_escaped(cs_jw *w, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t run = 0; /* bytes copied verbatim, flushed in one put */
    put(w, "\"", 1);
    for (size_t i = 0; i < n;) {
        size_t adv;
        char ubuf[8];
        const char *esc = escape_for(u, i, n, &adv, ubuf);
        if (esc) {
            put(w, s + i - run, run);
            run = 0;
            put(w, esc, strlen(esc));
        } else {
            run += adv;
        }
        i += adv;
    }
    put(w, s + n - run, run);
    put(w, "\"", 1);
}

void cs_jw_key(cs_jw *w, const char *key)
{
    before_value(w);
    put_escaped(w, key ? key : "", key ? strlen(key) : 0);
    put(w, ":", 1);
    if (!dropping(w))
        w->after_key = true;
}

void cs_jw_stringn(cs_jw *w, const char *s, size_t n)
{
    if (!s) {
        cs_jw_null(w);
        return;
    }
    before_value(w);
    put_escaped(w, s, n);
}

void cs_jw_string(cs_jw *w, const char *s)
{
    cs_jw_stringn(w, s, s ? strlen(s) : 0);
}

static void put_value(cs_jw *w, const char *s, size_t n)
{
    before_value(w);
    put(w, s, n);
}

void cs_jw_int(cs_jw *w, int64_t v)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%lld", (long long)v);
    put_value(w, buf, (size_t)n);
}

void cs_jw_uint(cs_jw *w, uint64_t v)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
    put_value(w, buf, (size_t)n);
}

/* %.17g round-trips every double; JSON has no NaN or infinity. */
void cs_jw_double(cs_jw *w, double v)
{
    if (!isfinite(v)) {
        cs_jw_null(w);
        return;
    }
    char buf[40];
    int n = snprintf(buf, sizeof buf, "%.17g", v);
    put_value(w, buf, (size_t)n);
}

void cs_jw_bool(cs_jw *w, bool v)
{
    put_value(w, v ? "true" : "false", v ? 4 : 5);
}

void cs_jw_null(cs_jw *w)
{
    put_value(w, "null", 4);
}

void cs_jw_raw(cs_jw *w, const char *json, size_t n)
{
    put_value(w, json, n);
}

void cs_jw_kv_str(cs_jw *w, const char *key, const char *v)
{
    cs_jw_key(w, key);
    cs_jw_string(w, v);
}

void cs_jw_kv_int(cs_jw *w, const char *key, int64_t v)
{
    cs_jw_key(w, key);
    cs_jw_int(w, v);
}

void cs_jw_kv_strs(cs_jw *w, const char *key, const char *const *items, size_t n)
{
    cs_jw_key(w, key);
    cs_jw_arr_begin(w);
    for (size_t i = 0; i < n; i++)
        cs_jw_string(w, items[i]);
    cs_jw_arr_end(w);
}

void cs_jw_kv_bool(cs_jw *w, const char *key, bool v)
{
    cs_jw_key(w, key);
    cs_jw_bool(w, v);
}

/* JSON reader over jsmn tokens and a JSON writer; see json.h.
 *
 * jsmn gives a flat token array in document order where each token records
 * its child count; a value's subtree is skipped by counting, which bounds every
 * walk by the token array. Strings are unescaped only when copied out. */
#include "util/json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSMN_STATIC
#define JSMN_STRICT
#include <jsmn.h>

#include "util/mem.h"

#define JSON_MAX_TEXT (64u * 1024 * 1024)

struct cs_json {
    const char *text;
    size_t len;
    jsmntok_t *toks;
    int ntoks;
};

static bool members_well_formed(const cs_json *j)
{
    for (int i = 0; i < j->ntoks; i++) {
        if (j->toks[i].type != JSMN_OBJECT)
            continue;
        int k = i + 1;
        for (int m = 0; m < j->toks[i].size; m++) {
            if (k + 1 >= j->ntoks || j->toks[k].type != JSMN_STRING || j->toks[k].size != 1)
                return false;
            k = cs_json_skip(j, k + 1);
            if (k < 0)
                return false;
        }
    }
    return true;
}

int cs_json_parse(const char *text, size_t len, cs_json **out, cs_error *err)
{
    *out = NULL;
    if (!text || len == 0)
        return cs_error_set(err, CS_ERR_INTERNAL, "malformed JSON: empty document");
    if (len > JSON_MAX_TEXT)
        return cs_error_set(err, CS_ERR_INTERNAL, "JSON document larger than %u bytes", JSON_MAX_TEXT);
    jsmn_parser p;
    jsmn_init(&p);
    int n = jsmn_parse(&p, text, len, NULL, 0);
    if (n == JSMN_ERROR_PART)
        return cs_error_set(err, CS_ERR_INTERNAL, "truncated JSON (%zu bytes)", len);
    if (n < 0)
        return cs_error_set(err, CS_ERR_INTERNAL, "malformed JSON near byte %u", p.pos);
    if (n == 0)
        return cs_error_set(err, CS_ERR_INTERNAL, "malformed JSON: no value");
    cs_json *j = cs_xcalloc(1, sizeof *j);
    j->text = text;
    j->len = len;
    j->toks = cs_xmalloc((size_t)n * sizeof *j->toks);
    jsmn_init(&p);
    j->ntoks = jsmn_parse(&p, text, len, j->toks, (unsigned)n);
    if (j->ntoks != n) {
        cs_json_free(j);
        return cs_error_set(err, CS_ERR_INTERNAL, "malformed JSON near byte %u", p.pos);
    }
    /* Trailing bytes after the root value (other than whitespace) are an error:
     * jsmn would report them as further top-level tokens. jsmn also lets a key
     * go without its value ({"a":}); every getter relies on key/value pairs. */
    if (cs_json_skip(j, 0) != j->ntoks || !members_well_formed(j)) {
        cs_json_free(j);
        return cs_error_set(err, CS_ERR_INTERNAL, "malformed JSON: data after the document");
    }
    *out = j;
    return 0;
}

void cs_json_free(cs_json *j)
{
    if (!j)
        return;
    free(j->toks);
    free(j);
}

static bool valid(const cs_json *j, int tok)
{
    return j && tok >= 0 && tok < j->ntoks;
}

cs_json_type cs_json_type_of(const cs_json *j, int tok)
{
    if (!valid(j, tok))
        return CS_JSON_NONE;
    const jsmntok_t *t = &j->toks[tok];
    switch (t->type) {
    case JSMN_OBJECT:
        return CS_JSON_OBJECT;
    case JSMN_ARRAY:
        return CS_JSON_ARRAY;
    case JSMN_STRING:
        return CS_JSON_STRING;
    case JSMN_PRIMITIVE:
        switch (j->text[t->start]) {
        case 't':
            return CS_JSON_TRUE;
        case 'f':
            return CS_JSON_FALSE;
        case 'n':
            return CS_JSON_NULL;
        default:
            return CS_JSON_NUMBER;
        }
    default:
        return CS_JSON_NONE;
    }
}

int cs_json_count(const cs_json *j, int tok)
{
    cs_json_type t = cs_json_type_of(j, tok);
    return t == CS_JSON_OBJECT || t == CS_JSON_ARRAY ? j->toks[tok].size : 0;
}

/* Iterative subtree skip: `pending` counts values still to pass. An object's
 * size counts keys; each key token has size 1 (its value). */
int cs_json_skip(const cs_json *j, int tok)
{
    if (!valid(j, tok))
        return -1;
    int i = tok;
    long pending = 1;
    while (pending > 0 && i < j->ntoks) {
        pending += j->toks[i].size;
        pending--;
        i++;
    }
    return i;
}

int cs_json_first(const cs_json *j, int arr)
{
    if (cs_json_type_of(j, arr) != CS_JSON_ARRAY || j->toks[arr].size == 0 || arr + 1 >= j->ntoks)
        return -1;
    return arr + 1;
}

int cs_json_next(const cs_json *j, int arr, int elem)
{
    if (!valid(j, arr) || !valid(j, elem))
        return -1;
    int next = cs_json_skip(j, elem);
    int end = cs_json_skip(j, arr);
    return next < end && next < j->ntoks ? next : -1;
}

int cs_json_first_member(const cs_json *j, int obj, int *key_tok)
{
    if (key_tok)
        *key_tok = -1;
    if (cs_json_type_of(j, obj) != CS_JSON_OBJECT || j->toks[obj].size == 0 || obj + 2 >= j->ntoks)
        return -1;
    if (key_tok)
        *key_tok = obj + 1;
    return obj + 2;
}

int cs_json_next_member(const cs_json *j, int obj, int value_tok, int *key_tok)
{
    if (key_tok)
        *key_tok = -1;
    if (!valid(j, obj) || !valid(j, value_tok))
        return -1;
    int key = cs_json_skip(j, value_tok);
    int end = cs_json_skip(j, obj);
    if (key < 0 || key + 1 >= end || key + 1 >= j->ntoks)
        return -1;
    if (key_tok)
        *key_tok = key;
    return key + 1;
}

const char *cs_json_raw(const cs_json *j, int tok, size_t *len)
{
    if (!valid(j, tok)) {
        if (len)
            *len = 0;
        return NULL;
    }
    const jsmntok_t *t = &j->toks[tok];
    if (len)
        *len = (size_t)(t->end - t->start);
    return j->text + t->start;
}

/* ---- strings ---- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static long read_u16(const char *s, size_t i, size_t n)
{
    if (i + 4 > n)
        return -1;
    long v = 0;
    for (size_t k = 0; k < 4; k++) {
        int h = hexval(s[i + k]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

static size_t put_utf8(char *out, unsigned long cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Unescapes s[0..n) into out (which has room for n + 1: unescaping never
 * grows a string). Returns the length written. */
static size_t unescape(const char *s, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\\' || i + 1 >= n) {
            out[o++] = s[i];
            continue;
        }
        char c = s[++i];
        switch (c) {
        case 'b':
            out[o++] = '\b';
            break;
        case 'f':
            out[o++] = '\f';
            break;
        case 'n':
            out[o++] = '\n';
            break;
        case 'r':
            out[o++] = '\r';
            break;
        case 't':
            out[o++] = '\t';
            break;
        case 'u': {
            long cp = read_u16(s, i + 1, n);
            if (cp < 0) {
                out[o++] = '?';
                break;
            }
            i += 4;
            if (cp >= 0xd800 && cp <= 0xdbff) {
                long lo = (i + 2 < n && s[i + 1] == '\\' && s[i + 2] == 'u') ? read_u16(s, i + 3, n) : -1;
                if (lo >= 0xdc00 && lo <= 0xdfff) {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                    i += 6;
                } else {
                    cp = 0xfffd;
                }
            } else if (cp >= 0xdc00 && cp <= 0xdfff) {
                cp = 0xfffd;
            }
            /* "\uXXXX" is 6 bytes, its UTF-8 at most 3; a pair is 12 → 4. */
            o += put_utf8(out + o, (unsigned long)cp);
            break;
        }
        default: /* \" \\ \/ */
            out[o++] = c;
            break;
        }
    }
    out[o] = '\0';
    return o;
}

char *cs_json_str(const cs_json *j, int tok, cs_arena *arena)
{
    if (cs_json_type_of(j, tok) != CS_JSON_STRING)
        return NULL;
    size_t n;
    const char *raw = cs_json_raw(j, tok, &n);
    char *out = arena ? cs_arena_alloc(arena, n + 1) : cs_xmalloc(n + 1);
    unescape(raw, n, out);
    return out;
}

bool cs_json_str_eq(const cs_json *j, int tok, const char *s)
{
    if (cs_json_type_of(j, tok) != CS_JSON_STRING || !s)
        return false;
    size_t n;
    const char *raw = cs_json_raw(j, tok, &n);
    if (!memchr(raw, '\\', n))
        return strlen(s) == n && memcmp(raw, s, n) == 0;
    char small[256];
    char *buf = n < sizeof small ? small : cs_xmalloc(n + 1);
    unescape(raw, n, buf);
    bool eq = strcmp(buf, s) == 0;
    if (buf != small)
        free(buf);
    return eq;
}

/* ---- lookups ---- */

int cs_json_key(const cs_json *j, int obj, const char *key)
{
    int k;
    for (int v = cs_json_first_member(j, obj, &k); v >= 0; v = cs_json_next_member(j, obj, v, &k))
        if (cs_json_str_eq(j, k, key))
            return v;
    return -1;
}

int cs_json_get(const cs_json *j, int obj, const char *path)
{
    if (!path)
        return -1;
    int cur = obj;
    const char *p = path;
    char part[256];
    while (cur >= 0) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (n >= sizeof part)
            return -1;
        memcpy(part, p, n);
        part[n] = '\0';
        cur = cs_json_key(j, cur, part);
        if (!dot)
            return cur;
        p = dot + 1;
    }
    return -1;
}

int cs_json_at(const cs_json *j, int arr, int i)
{
    int k = 0;
    for (int it = cs_json_first(j, arr); it >= 0; it = cs_json_next(j, arr, it), k++)
        if (k == i)
            return it;
    return -1;
}

/* ---- numbers ---- */

static bool number_copy(const cs_json *j, int tok, char *buf, size_t size)
{
    if (cs_json_type_of(j, tok) != CS_JSON_NUMBER)
        return false;
    size_t n;
    const char *raw = cs_json_raw(j, tok, &n);
    if (n == 0 || n >= size)
        return false;
    memcpy(buf, raw, n);
    buf[n] = '\0';
    return true;
}

/* Integers only: "1.5" and "1e3" are rejected, so a size is never rounded. */
int cs_json_int64(const cs_json *j, int tok, int64_t *out)
{
    char buf[32];
    if (!number_copy(j, tok, buf, sizeof buf) || strpbrk(buf, ".eE"))
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

int cs_json_uint64(const cs_json *j, int tok, uint64_t *out)
{
    char buf[32];
    if (!number_copy(j, tok, buf, sizeof buf) || strpbrk(buf, ".eE-"))
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(buf, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

int cs_json_double(const cs_json *j, int tok, double *out)
{
    char buf[64];
    if (!number_copy(j, tok, buf, sizeof buf))
        return -1;
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

int cs_json_bool(const cs_json *j, int tok, bool *out)
{
    cs_json_type t = cs_json_type_of(j, tok);
    if (t != CS_JSON_TRUE && t != CS_JSON_FALSE)
        return -1;
    *out = t == CS_JSON_TRUE;
    return 0;
}

char *cs_json_get_str(const cs_json *j, int obj, const char *path, cs_arena *arena)
{
    return cs_json_str(j, cs_json_get(j, obj, path), arena);
}

int64_t cs_json_get_int64(const cs_json *j, int obj, const char *path, int64_t def)
{
    int64_t v;
    return cs_json_int64(j, cs_json_get(j, obj, path), &v) == 0 ? v : def;
}

bool cs_json_get_bool(const cs_json *j, int obj, const char *path, bool def)
{
    bool v;
    return cs_json_bool(j, cs_json_get(j, obj, path), &v) == 0 ? v : def;
}

/* ---- writer ---- */

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
    char *s = w->buf;
    if (len)
        *len = w->len;
    memset(w, 0, sizeof *w); /* empty: cs_jw_init again to reuse */
    return s;
}

const char *cs_jw_str_view(const cs_jw *w)
{
    return w->buf;
}

static void put(cs_jw *w, const char *s, size_t n)
{
    if (w->len + n + 1 > w->cap) {
        while (w->len + n + 1 > w->cap)
            w->cap *= 2;
        w->buf = cs_xrealloc(w->buf, w->cap);
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = '\0';
}

/* Before any value: a comma unless first in its container, nothing after a key. */
static void before_value(cs_jw *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (w->need_comma[w->depth])
        put(w, ",", 1);
    w->need_comma[w->depth] = true;
}

/* Nesting deeper than CS_JW_MAX_DEPTH keeps writing valid text but stops
 * tracking commas per level beyond it (never writes out of bounds). */
static void jw_open(cs_jw *w, char c)
{
    before_value(w);
    put(w, &c, 1);
    if (w->depth < CS_JW_MAX_DEPTH)
        w->depth++;
    w->need_comma[w->depth] = false;
}

static void jw_close(cs_jw *w, char c)
{
    put(w, &c, 1);
    if (w->depth > 0)
        w->depth--;
}

void cs_jw_obj_begin(cs_jw *w) { jw_open(w, '{'); }
void cs_jw_obj_end(cs_jw *w) { jw_close(w, '}'); }
void cs_jw_arr_begin(cs_jw *w) { jw_open(w, '['); }
void cs_jw_arr_end(cs_jw *w) { jw_close(w, ']'); }

/* Length of a valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
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

static void put_escaped(cs_jw *w, const char *s, size_t n)
{
    put(w, "\"", 1);
    const unsigned char *u = (const unsigned char *)s;
    size_t run = 0; /* bytes copied verbatim, flushed in one put */
    for (size_t i = 0; i < n;) {
        unsigned char c = u[i];
        const char *esc = NULL;
        char ubuf[8];
        size_t adv = 1;
        if (c == '"')
            esc = "\\\"";
        else if (c == '\\')
            esc = "\\\\";
        else if (c == '\n')
            esc = "\\n";
        else if (c == '\r')
            esc = "\\r";
        else if (c == '\t')
            esc = "\\t";
        else if (c == '\b')
            esc = "\\b";
        else if (c == '\f')
            esc = "\\f";
        else if (c < 0x20) {
            snprintf(ubuf, sizeof ubuf, "\\u%04x", c);
            esc = ubuf;
        } else if (c >= 0x80) {
            adv = utf8_len(u + i, n - i);
            if (adv == 0) {
                esc = "\xef\xbf\xbd"; /* U+FFFD for invalid UTF-8 */
                adv = 1;
            }
        }
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
    w->after_key = true;
}

void cs_jw_stringn(cs_jw *w, const char *s, size_t n)
{
    before_value(w);
    put_escaped(w, s, n);
}

void cs_jw_string(cs_jw *w, const char *s)
{
    if (!s) {
        cs_jw_null(w);
        return;
    }
    cs_jw_stringn(w, s, strlen(s));
}

void cs_jw_int(cs_jw *w, int64_t v)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%lld", (long long)v);
    before_value(w);
    put(w, buf, (size_t)n);
}

void cs_jw_uint(cs_jw *w, uint64_t v)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
    before_value(w);
    put(w, buf, (size_t)n);
}

void cs_jw_double(cs_jw *w, double v)
{
    if (!isfinite(v)) {
        cs_jw_null(w);
        return;
    }
    char buf[40];
    int n = snprintf(buf, sizeof buf, "%.17g", v);
    before_value(w);
    put(w, buf, (size_t)n);
}

void cs_jw_bool(cs_jw *w, bool v)
{
    before_value(w);
    put(w, v ? "true" : "false", v ? 4 : 5);
}

void cs_jw_null(cs_jw *w)
{
    before_value(w);
    put(w, "null", 4);
}

void cs_jw_raw(cs_jw *w, const char *json, size_t n)
{
    before_value(w);
    put(w, json, n);
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

void cs_jw_kv_bool(cs_jw *w, const char *key, bool v)
{
    cs_jw_key(w, key);
    cs_jw_bool(w, v);
}

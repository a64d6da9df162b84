/* JSON reader over jsmn tokens; see json.h (the writer is json_write.c).
 *
 * jsmn tokenizes but does not enforce the grammar (it ignores commas, keeps a key
 * without its value, takes "tru" for a primitive), so parsing adds one linear pass
 * that checks the token tree and every byte between tokens. Getters then trust the
 * tree's shape, yet still bound each walk by the token array. */
#include "util/json.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSMN_STATIC
#define JSMN_STRICT
/* Parent links let jsmn close a bracket by walking up the open containers
 * (without them it scans back over every earlier sibling: quadratic on long
 * arrays) and let cs_json_next tell an array's last element without skipping
 * the whole array. */
#define JSMN_PARENT_LINKS
#include <jsmn.h>

#include "util/mem.h"

/* jsmn positions are ints; engine responses are far smaller than this. */
#define JSON_MAX_TEXT (64u * 1024 * 1024)
/* Deeper documents are refused: it bounds jsmn's walk up the open containers,
 * the recursive check's stack and that of callers that recurse over a document.
 * Docker nests a few levels. */
#define JSON_MAX_DEPTH 512

struct cs_json {
    const char *text;
    size_t len;
    jsmntok_t *toks;
    int ntoks;
};

/* ---- parse and validate ---- */

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t skip_ws(const char *s, size_t i, size_t end)
{
    while (i < end && is_ws(s[i]))
        i++;
    return i;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static size_t skip_digits(const char *s, size_t i, size_t n)
{
    while (i < n && is_digit(s[i]))
        i++;
    return i;
}

/* RFC 8259 number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool number_ok(const char *s, size_t n)
{
    size_t i = 0;
    if (i < n && s[i] == '-')
        i++;
    if (i >= n || !is_digit(s[i]))
        return false;
    i = s[i] == '0' ? i + 1 : skip_digits(s, i, n);
    if (i < n && s[i] == '.') {
        size_t d = ++i;
        if ((i = skip_digits(s, i, n)) == d)
            return false;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t d = i;
        if ((i = skip_digits(s, i, n)) == d)
            return false;
    }
    return i == n;
}

static bool literal_is(const char *s, size_t n, const char *lit)
{
    return n == strlen(lit) && memcmp(s, lit, n) == 0;
}

static bool primitive_ok(const char *s, size_t n)
{
    return literal_is(s, n, "true") || literal_is(s, n, "false") || literal_is(s, n, "null") ||
           number_ok(s, n);
}

static int malformed_at(cs_error *err, size_t pos, const char *what)
{
    return cs_error_set(err, CS_ERR_INTERNAL, "malformed JSON at byte %zu: %s", pos, what);
}

/* A token's bytes in the text: jsmn's string tokens exclude the quotes. */
static size_t span_begin(const jsmntok_t *t)
{
    return (size_t)t->start - (t->type == JSMN_STRING ? 1 : 0);
}

static size_t span_end(const jsmntok_t *t)
{
    return (size_t)t->end + (t->type == JSMN_STRING ? 1 : 0);
}

/* The bytes between two tokens: whitespace, optionally around one separator. */
static bool gap_ok(const cs_json *j, size_t from, size_t to, char sep)
{
    if (from > to || to > j->len)
        return false;
    size_t i = skip_ws(j->text, from, to);
    if (sep) {
        if (i == to || j->text[i] != sep)
            return false;
        i = skip_ws(j->text, i + 1, to);
    }
    return i == to;
}

static int check_value(const cs_json *j, int tok, int depth, cs_error *err);

/* Returns the token after the container's subtree, or -1. */
static int check_container(const cs_json *j, int tok, int depth, cs_error *err)
{
    const jsmntok_t *t = &j->toks[tok];
    bool obj = t->type == JSMN_OBJECT;
    size_t pos = (size_t)t->start + 1;
    int i = tok + 1;
    for (int m = 0; m < t->size; m++) {
        if (i >= j->ntoks)
            return malformed_at(err, pos, "missing value");
        const jsmntok_t *c = &j->toks[i];
        if (!gap_ok(j, pos, span_begin(c), m ? ',' : 0))
            return malformed_at(err, pos, m ? "expected ','" : "unexpected ','");
        if (obj) {
            if (c->type != JSMN_STRING || c->size != 1 || i + 1 >= j->ntoks)
                return malformed_at(err, span_begin(c), "expected a key with a value");
            if (!gap_ok(j, span_end(c), span_begin(&j->toks[i + 1]), ':'))
                return malformed_at(err, span_end(c), "expected ':'");
            i++;
        }
        int value = i;
        if ((i = check_value(j, value, depth, err)) < 0)
            return -1;
        pos = span_end(&j->toks[value]);
    }
    if (t->end < 1 || !gap_ok(j, pos, (size_t)t->end - 1, 0))
        return malformed_at(err, pos, obj ? "expected '}'" : "expected ']'");
    return i;
}

static int check_value(const cs_json *j, int tok, int depth, cs_error *err)
{
    const jsmntok_t *t = &j->toks[tok];
    switch (t->type) {
    case JSMN_PRIMITIVE:
        if (t->size != 0 || !primitive_ok(j->text + t->start, (size_t)(t->end - t->start)))
            return malformed_at(err, (size_t)t->start, "invalid literal");
        return tok + 1;
    case JSMN_STRING:
        /* a string with children is a value followed by ':' */
        if (t->size != 0)
            return malformed_at(err, span_end(t), "unexpected ':'");
        return tok + 1;
    case JSMN_OBJECT:
    case JSMN_ARRAY:
        if (depth >= JSON_MAX_DEPTH)
            return malformed_at(err, (size_t)t->start, "nested too deeply");
        return check_container(j, tok, depth + 1, err);
    default:
        return malformed_at(err, (size_t)t->start, "unknown token");
    }
}

static int check_document(const cs_json *j, cs_error *err)
{
    int end = check_value(j, 0, 0, err);
    if (end < 0)
        return -1;
    const jsmntok_t *root = &j->toks[0];
    if (end != j->ntoks || !gap_ok(j, span_end(root), j->len, 0))
        return malformed_at(err, span_end(root), "data after the document");
    if (!gap_ok(j, 0, span_begin(root), 0))
        return malformed_at(err, 0, "data before the document");
    return 0;
}

static int jsmn_failed(int rc, const jsmn_parser *p, size_t len, cs_error *err)
{
    if (rc == JSMN_ERROR_PART)
        return cs_error_set(err, CS_ERR_INTERNAL, "truncated JSON (%zu bytes)", len);
    return malformed_at(err, p->pos, "unexpected character");
}

/* One pass before jsmn. A NUL would make jsmn stop as if the text ended there.
 * And jsmn closes a bracket by walking up the parent links from the last token,
 * which is quadratic in the nesting depth: bounding the depth first bounds it. */
static int prescan(const char *s, size_t len, cs_error *err)
{
    int depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '\0')
            return malformed_at(err, i, "NUL byte");
        if (in_string) {
            if (c == '\\' && i + 1 < len && s[i + 1] != '\0')
                i++;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (++depth > JSON_MAX_DEPTH)
                return malformed_at(err, i, "nested too deeply");
        } else if ((c == '}' || c == ']') && depth > 0) {
            depth--;
        }
    }
    return 0;
}

/* jsmn in strict mode wants a delimiter after a primitive, so a document that
 * is just "42" or "true" would read as truncated: take it as one token here. */
static int tokenize_bare_primitive(cs_json *j, size_t first, cs_error *err)
{
    size_t end = j->len;
    while (end > first && is_ws(j->text[end - 1]))
        end--;
    if (!primitive_ok(j->text + first, end - first))
        return malformed_at(err, first, "invalid literal");
    j->toks = cs_xcalloc(1, sizeof *j->toks);
    j->toks[0] = (jsmntok_t){.type = JSMN_PRIMITIVE, .start = (int)first, .end = (int)end, .parent = -1};
    j->ntoks = 1;
    return 0;
}

static int tokenize(cs_json *j, cs_error *err)
{
    size_t first = skip_ws(j->text, 0, j->len);
    if (first == j->len)
        return cs_error_set(err, CS_ERR_INTERNAL, "malformed JSON: no value");
    char c = j->text[first];
    if (c != '{' && c != '[' && c != '"')
        return tokenize_bare_primitive(j, first, err);

    jsmn_parser p;
    jsmn_init(&p);
    int n = jsmn_parse(&p, j->text, j->len, NULL, 0);
    if (n < 0)
        return jsmn_failed(n, &p, j->len, err);
    unsigned cap = n > 0 ? (unsigned)n : 1;
    j->toks = cs_xmalloc(cap * sizeof *j->toks);
    jsmn_init(&p);
    /* The counting pass is exact for anything the real pass accepts; growing
     * (jsmn resumes where it stopped) is only a safety net. */
    while ((n = jsmn_parse(&p, j->text, j->len, j->toks, cap)) == JSMN_ERROR_NOMEM) {
        cap *= 2;
        j->toks = cs_xrealloc(j->toks, cap * sizeof *j->toks);
    }
    if (n < 0)
        return jsmn_failed(n, &p, j->len, err);
    if (n == 0)
        return malformed_at(err, first, "no value");
    j->ntoks = n;
    return 0;
}

int cs_json_parse(const char *text, size_t len, cs_json **out, cs_error *err)
{
    *out = NULL;
    if (!text || len == 0)
        return cs_error_set(err, CS_ERR_INTERNAL, "malformed JSON: empty document");
    if (len > JSON_MAX_TEXT)
        return cs_error_set(err, CS_ERR_INTERNAL, "JSON document larger than %u bytes", JSON_MAX_TEXT);
    if (prescan(text, len, err) != 0)
        return -1;
    cs_json *j = cs_xcalloc(1, sizeof *j);
    j->text = text;
    j->len = len;
    if (tokenize(j, err) != 0 || check_document(j, err) != 0) {
        cs_json_free(j);
        return -1;
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

/* ---- structure ---- */

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
        /* validated at parse: the first byte tells the literal */
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

/* Counts values still to pass: each token adds its children (an object's size
 * counts its keys, each key's size is 1 for its value), as jsmn's jsondump.c
 * recurses. O(subtree), and never past the token array. */
int cs_json_skip(const cs_json *j, int tok)
{
    if (!valid(j, tok))
        return -1;
    int i = tok;
    long pending = 1;
    while (pending > 0 && i < j->ntoks) {
        pending += j->toks[i].size - 1;
        i++;
    }
    return i;
}

static int parent_of(const cs_json *j, int tok)
{
    return valid(j, tok) ? j->toks[tok].parent : -1;
}

int cs_json_first(const cs_json *j, int arr)
{
    if (cs_json_type_of(j, arr) != CS_JSON_ARRAY || j->toks[arr].size == 0 || arr + 1 >= j->ntoks)
        return -1;
    return arr + 1;
}

int cs_json_next(const cs_json *j, int arr, int elem)
{
    if (cs_json_type_of(j, arr) != CS_JSON_ARRAY || parent_of(j, elem) != arr)
        return -1;
    int next = cs_json_skip(j, elem);
    return parent_of(j, next) == arr ? next : -1;
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
    /* value_tok must be a member value of obj: its parent is a key of obj */
    if (cs_json_type_of(j, obj) != CS_JSON_OBJECT || parent_of(j, parent_of(j, value_tok)) != obj)
        return -1;
    int key = cs_json_skip(j, value_tok);
    if (parent_of(j, key) != obj || key + 1 >= j->ntoks)
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

/* The 4 hex digits at s[i..i+4), -1 if short or not hex. */
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

/* Decodes the \u escape whose hex digits start at s[*i] and leaves *i on its
 * last digit. A pair of surrogates makes one code point; a lone one is U+FFFD. */
static unsigned long read_u_escape(const char *s, size_t *i, size_t n)
{
    long cp = read_u16(s, *i, n);
    if (cp < 0)
        return 0xfffd; /* jsmn validated the digits; defensive only */
    *i += 3;
    if (cp >= 0xdc00 && cp <= 0xdfff)
        return 0xfffd;
    if (cp < 0xd800 || cp > 0xdbff)
        return (unsigned long)cp;
    long lo = (*i + 2 < n && s[*i + 1] == '\\' && s[*i + 2] == 'u') ? read_u16(s, *i + 3, n) : -1;
    if (lo < 0xdc00 || lo > 0xdfff)
        return 0xfffd; /* the next escape, if any, is decoded on its own */
    *i += 6;
    return 0x10000 + ((unsigned long)(cp - 0xd800) << 10) + (unsigned long)(lo - 0xdc00);
}

/* Unescapes s[0..n) into out, which has room for n + 1 bytes: unescaping never
 * grows a string ("\uXXXX" is 6 bytes and at most 3 in UTF-8, a pair 12 -> 4).
 * Returns the length written; out is NUL-terminated. */
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
        case 'u':
            i++;
            o += put_utf8(out + o, read_u_escape(s, &i, n));
            break;
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

/* Compares with s[0..n) by length, so "a\u0000b" is not equal to "a". */
static bool str_eq_n(const cs_json *j, int tok, const char *s, size_t n)
{
    if (cs_json_type_of(j, tok) != CS_JSON_STRING || !s)
        return false;
    size_t rn;
    const char *raw = cs_json_raw(j, tok, &rn);
    if (!memchr(raw, '\\', rn))
        return rn == n && memcmp(raw, s, n) == 0;
    if (n > rn)
        return false;
    char small[256];
    char *buf = rn < sizeof small ? small : cs_xmalloc(rn + 1);
    size_t un = unescape(raw, rn, buf);
    bool eq = un == n && memcmp(buf, s, n) == 0;
    if (buf != small)
        free(buf);
    return eq;
}

bool cs_json_str_eq(const cs_json *j, int tok, const char *s)
{
    return s && str_eq_n(j, tok, s, strlen(s));
}

/* ---- lookups ---- */

static int key_n(const cs_json *j, int obj, const char *key, size_t n)
{
    int k;
    for (int v = cs_json_first_member(j, obj, &k); v >= 0; v = cs_json_next_member(j, obj, v, &k))
        if (str_eq_n(j, k, key, n))
            return v;
    return -1;
}

int cs_json_key(const cs_json *j, int obj, const char *key)
{
    return key ? key_n(j, obj, key, strlen(key)) : -1;
}

int cs_json_get(const cs_json *j, int obj, const char *path)
{
    if (!path)
        return -1;
    int cur = obj;
    for (const char *p = path; cur >= 0;) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        cur = key_n(j, cur, p, n);
        if (!dot)
            return cur;
        p = dot + 1;
    }
    return -1;
}

int cs_json_at(const cs_json *j, int arr, int i)
{
    if (i < 0)
        return -1;
    int k = 0;
    for (int it = cs_json_first(j, arr); it >= 0; it = cs_json_next(j, arr, it), k++)
        if (k == i)
            return it;
    return -1;
}

/* ---- numbers ---- */

/* A NUL-terminated copy of the number at tok: the text itself is not terminated
 * at the token's end. Uses buf if it fits, else a malloc'd copy (*heap set). */
static char *number_copy(const cs_json *j, int tok, char *buf, size_t size, char **heap)
{
    *heap = NULL;
    if (cs_json_type_of(j, tok) != CS_JSON_NUMBER)
        return NULL;
    size_t n;
    const char *raw = cs_json_raw(j, tok, &n);
    char *dst = buf;
    if (n >= size)
        dst = *heap = cs_xmalloc(n + 1);
    memcpy(dst, raw, n);
    dst[n] = '\0';
    return dst;
}

/* Integers only: "1.5", "1e3" and even "1.0" are refused, so a size or a count
 * is never silently rounded; Docker writes integer fields without a fraction. */
int cs_json_int64(const cs_json *j, int tok, int64_t *out)
{
    char buf[32], *heap;
    const char *s = number_copy(j, tok, buf, sizeof buf, &heap);
    int rc = -1;
    if (s && !strpbrk(s, ".eE")) {
        char *end;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (errno == 0 && *end == '\0') {
            *out = v;
            rc = 0;
        }
    }
    free(heap);
    return rc;
}

int cs_json_uint64(const cs_json *j, int tok, uint64_t *out)
{
    char buf[32], *heap;
    const char *s = number_copy(j, tok, buf, sizeof buf, &heap);
    int rc = -1;
    /* strtoull would wrap "-1" to UINT64_MAX */
    if (s && !strpbrk(s, ".eE-")) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno == 0 && *end == '\0') {
            *out = v;
            rc = 0;
        }
    }
    free(heap);
    return rc;
}

/* Overflow is an error; underflow gives the nearest representable value. */
int cs_json_double(const cs_json *j, int tok, double *out)
{
    char buf[128], *heap;
    const char *s = number_copy(j, tok, buf, sizeof buf, &heap);
    int rc = -1;
    if (s) {
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (*end == '\0' && !(errno == ERANGE && isinf(v))) {
            *out = v;
            rc = 0;
        }
    }
    free(heap);
    return rc;
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

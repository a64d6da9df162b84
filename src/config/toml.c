/* The strict TOML subset reader; see toml.h for what it accepts and why it
 * exists. A recursive-descent scanner over the buffer, one pass, with every
 * string and key copied into one arena that lives for the parse. */
#include "config/toml.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/arena.h"

#define TOML_MAX_KEYS 4096   /* duplicate detection is linear; a config has dozens */
#define TOML_MAX_ITEMS 4096  /* per array */
#define TOML_MAX_KEY_LEN 256

typedef struct scanner {
    const char *p, *end;
    int line;
    cs_arena *a;
    const char *table; /* "" or "name." prefix */
    const char **seen;
    size_t nseen;
    const char *key; /* the key being read, for messages */
    cs_error *err;
} scanner;

const char *cs_toml_type_name(cs_toml_type t)
{
    switch (t) {
    case CS_TOML_STRING:
        return "string";
    case CS_TOML_INT:
        return "integer";
    case CS_TOML_FLOAT:
        return "float";
    case CS_TOML_BOOL:
        return "boolean";
    case CS_TOML_ARRAY:
        return "array";
    }
    return "?";
}

__attribute__((format(printf, 2, 3))) static int fail(scanner *s, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (s->key)
        return cs_error_set(s->err, CS_ERR_INVALID, "line %d, key %s: %s", s->line, s->key, msg);
    return cs_error_set(s->err, CS_ERR_INVALID, "line %d: %s", s->line, msg);
}

static bool at_end(const scanner *s) { return s->p >= s->end; }
static int peek(const scanner *s) { return at_end(s) ? -1 : (unsigned char)*s->p; }

static void skip_ws(scanner *s)
{
    while (!at_end(s) && (*s->p == ' ' || *s->p == '\t'))
        s->p++;
}

/* A comment runs to the end of the line; control characters other than tab
 * are not allowed in it. */
static int skip_comment(scanner *s)
{
    if (peek(s) != '#')
        return 0;
    while (!at_end(s) && *s->p != '\n') {
        unsigned char c = (unsigned char)*s->p;
        if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f)
            return fail(s, "control character in a comment");
        s->p++;
    }
    return 0;
}

/* After a key/value or a header: blanks, a comment, then a newline or EOF. */
static int end_of_line(scanner *s)
{
    skip_ws(s);
    if (skip_comment(s) != 0)
        return -1;
    if (at_end(s))
        return 0;
    if (*s->p == '\r' && s->p + 1 < s->end && s->p[1] == '\n')
        s->p++;
    if (*s->p != '\n')
        return fail(s, "unexpected '%c' after the value (one key = value per line)", *s->p);
    s->p++;
    s->line++;
    return 0;
}

static bool bare_char(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* Appends the UTF-8 encoding of cp; false when cp is not a scalar value. */
static bool put_utf8(char *out, size_t *n, unsigned long cp)
{
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return false;
    if (cp < 0x80) {
        out[(*n)++] = (char)cp;
    } else if (cp < 0x800) {
        out[(*n)++] = (char)(0xC0 | (cp >> 6));
        out[(*n)++] = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out[(*n)++] = (char)(0xE0 | (cp >> 12));
        out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[(*n)++] = (char)(0x80 | (cp & 0x3F));
    } else {
        out[(*n)++] = (char)(0xF0 | (cp >> 18));
        out[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[(*n)++] = (char)(0x80 | (cp & 0x3F));
    }
    return true;
}

/* A "basic" or 'literal' one-line string; *out is arena memory. */
static int read_string(scanner *s, char **out)
{
    char q = *s->p;
    if (s->end - s->p >= 3 && s->p[1] == q && s->p[2] == q)
        return fail(s, "multi-line strings are not supported; write the value on one line");
    s->p++;
    const char *start = s->p;
    /* Escapes never make a string longer than its source (\uXXXX is 6 bytes
     * for at most 3; \UXXXXXXXX 10 for 4). */
    size_t cap = 0;
    while (start + cap < s->end && start[cap] != q && start[cap] != '\n')
        cap += (start[cap] == '\\' && q == '"' && start + cap + 1 < s->end) ? 2 : 1;
    char *buf = cs_arena_alloc(s->a, cap + 1);
    size_t n = 0;
    for (;;) {
        if (at_end(s) || *s->p == '\n')
            return fail(s, "unterminated string");
        unsigned char c = (unsigned char)*s->p;
        if (c == (unsigned char)q) {
            s->p++;
            break;
        }
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return fail(s, "control character 0x%02x in a string (escape it)", c);
        if (c != '\\' || q == '\'') {
            buf[n++] = (char)c;
            s->p++;
            continue;
        }
        s->p++;
        int e = peek(s);
        s->p++;
        switch (e) {
        case 'b': buf[n++] = '\b'; break;
        case 't': buf[n++] = '\t'; break;
        case 'n': buf[n++] = '\n'; break;
        case 'f': buf[n++] = '\f'; break;
        case 'r': buf[n++] = '\r'; break;
        case '"': buf[n++] = '"'; break;
        case '\\': buf[n++] = '\\'; break;
        case 'u':
        case 'U': {
            int digits = e == 'u' ? 4 : 8;
            unsigned long cp = 0;
            for (int i = 0; i < digits; i++, s->p++) {
                int h = peek(s);
                int v = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10
                        : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
                if (v < 0)
                    return fail(s, "\\%c needs %d hex digits", e, digits);
                cp = cp * 16 + (unsigned long)v;
            }
            if (!put_utf8(buf, &n, cp))
                return fail(s, "\\%c escape is not a Unicode scalar value", e);
            break;
        }
        default:
            return fail(s, "unknown escape in a string");
        }
    }
    buf[n] = '\0';
    if (memchr(buf, '\0', n))
        return fail(s, "NUL in a string");
    *out = buf;
    return 0;
}

/* One key segment: bare or quoted. */
static int read_key_part(scanner *s, char **out)
{
    skip_ws(s);
    int c = peek(s);
    if (c == '"' || c == '\'')
        return read_string(s, out);
    const char *start = s->p;
    while (!at_end(s) && bare_char((unsigned char)*s->p))
        s->p++;
    if (s->p == start)
        return c < 0 || c == '\n' ? fail(s, "expected a key") : fail(s, "'%c' cannot start a key", c);
    *out = cs_arena_strndup(s->a, start, (size_t)(s->p - start));
    return 0;
}

/* A key, dotted parts joined with '.'. */
static int read_key(scanner *s, char **out)
{
    char buf[TOML_MAX_KEY_LEN];
    size_t n = 0;
    for (;;) {
        char *part;
        if (read_key_part(s, &part) != 0)
            return -1;
        size_t l = strlen(part);
        if (n + l + 2 > sizeof buf)
            return fail(s, "key longer than %d bytes", TOML_MAX_KEY_LEN - 2);
        if (n)
            buf[n++] = '.';
        memcpy(buf + n, part, l);
        n += l;
        skip_ws(s);
        if (peek(s) != '.')
            break;
        s->p++;
    }
    buf[n] = '\0';
    *out = cs_arena_strdup(s->a, buf);
    return 0;
}

/* Digits with single underscores between them; no leading zero unless alone. */
static int check_digits(scanner *s, const char *p, const char *e, const char *what)
{
    if (p == e)
        return fail(s, "bad %s", what);
    if (*p == '0' && e - p > 1 && p[1] >= '0' && p[1] <= '9')
        return fail(s, "leading zeros are not allowed in %s", what);
    for (const char *q = p; q < e; q++) {
        if (*q == '_') {
            if (q == p || q + 1 == e || !(q[-1] >= '0' && q[-1] <= '9') || !(q[1] >= '0' && q[1] <= '9'))
                return fail(s, "misplaced '_' in %s", what);
        } else if (!(*q >= '0' && *q <= '9')) {
            return fail(s, "bad %s", what);
        }
    }
    return 0;
}

static int read_number(scanner *s, cs_toml_value *v, const char *start, const char *e)
{
    const char *p = start;
    if (*p == '+' || *p == '-')
        p++;
    if (e - p >= 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'o' || p[1] == 'b'))
        return fail(s, "hex, octal and binary numbers are not supported");
    if (e - p == 3 && (!strncmp(p, "inf", 3) || !strncmp(p, "nan", 3)))
        return fail(s, "inf and nan are not accepted");
    const char *dot = memchr(p, '.', (size_t)(e - p));
    const char *exp = NULL;
    for (const char *q = p; q < e; q++)
        if (*q == 'e' || *q == 'E')
            exp = q;
    if (memchr(p, ':', (size_t)(e - p)) || (e - p > 4 && p[4] == '-' && !exp))
        return fail(s, "dates and times are not supported");
    const char *int_end = dot ? dot : exp ? exp : e;
    if (check_digits(s, p, int_end, "number") != 0)
        return -1;
    if (dot) {
        const char *frac_end = exp ? exp : e;
        if (exp && exp < dot)
            return fail(s, "bad number");
        const char *fp = dot + 1;
        for (const char *q = fp; q < frac_end; q++)
            if (!((*q >= '0' && *q <= '9') || *q == '_'))
                return fail(s, "bad number");
        if (fp == frac_end || *fp == '_' || frac_end[-1] == '_')
            return fail(s, "bad fraction");
        for (const char *q = fp; q + 1 < frac_end; q++)
            if (q[0] == '_' && q[1] == '_')
                return fail(s, "bad fraction");
    }
    if (exp) {
        const char *ep = exp + 1;
        if (ep < e && (*ep == '+' || *ep == '-'))
            ep++;
        if (ep == e)
            return fail(s, "bad exponent");
        for (const char *q = ep; q < e; q++)
            if (!((*q >= '0' && *q <= '9') || *q == '_') || (*q == '_' && (q == ep || q + 1 == e)))
                return fail(s, "bad exponent");
    }
    /* strtoll/strtod do not know '_': copy without them. */
    char *clean = cs_arena_alloc(s->a, (size_t)(e - start) + 1);
    size_t n = 0;
    for (const char *q = start; q < e; q++)
        if (*q != '_')
            clean[n++] = *q;
    clean[n] = '\0';
    errno = 0;
    char *endp;
    if (dot || exp) {
        v->type = CS_TOML_FLOAT;
        v->f = strtod(clean, &endp);
        if (*endp || errno || !isfinite(v->f))
            return fail(s, "float out of range");
    } else {
        v->type = CS_TOML_INT;
        v->i = strtoll(clean, &endp, 10);
        if (*endp || errno)
            return fail(s, "integer out of range");
    }
    return 0;
}

static int read_value(scanner *s, cs_toml_value *v, bool in_array);

static void skip_array_space(scanner *s, int *rc)
{
    for (;;) {
        skip_ws(s);
        if (skip_comment(s) != 0) {
            *rc = -1;
            return;
        }
        if (!at_end(s) && *s->p == '\r' && s->p + 1 < s->end && s->p[1] == '\n')
            s->p++;
        if (!at_end(s) && *s->p == '\n') {
            s->p++;
            s->line++;
            continue;
        }
        return;
    }
}

static int read_array(scanner *s, cs_toml_value *v)
{
    s->p++; /* [ */
    size_t cap = 8, n = 0;
    cs_toml_value *items = cs_arena_array(s->a, cap, sizeof *items);
    int rc = 0;
    for (;;) {
        skip_array_space(s, &rc);
        if (rc)
            return -1;
        if (at_end(s))
            return fail(s, "unterminated array");
        if (*s->p == ']') {
            s->p++;
            break;
        }
        if (n == TOML_MAX_ITEMS)
            return fail(s, "array longer than %d items", TOML_MAX_ITEMS);
        if (n == cap) {
            cs_toml_value *bigger = cs_arena_array(s->a, cap * 2, sizeof *items);
            memcpy(bigger, items, n * sizeof *items);
            items = bigger;
            cap *= 2;
        }
        if (read_value(s, &items[n], true) != 0)
            return -1;
        n++;
        skip_array_space(s, &rc);
        if (rc)
            return -1;
        if (peek(s) == ',') {
            s->p++;
            continue;
        }
        if (peek(s) == ']') {
            s->p++;
            break;
        }
        return fail(s, "expected ',' or ']' in an array");
    }
    v->type = CS_TOML_ARRAY;
    v->items = items;
    v->nitems = n;
    return 0;
}

static int read_value(scanner *s, cs_toml_value *v, bool in_array)
{
    memset(v, 0, sizeof *v);
    skip_ws(s);
    int c = peek(s);
    const char *start = s->p;
    if (c == '"' || c == '\'') {
        char *str;
        if (read_string(s, &str) != 0)
            return -1;
        v->type = CS_TOML_STRING;
        v->str = str;
        v->text = cs_arena_strndup(s->a, start, (size_t)(s->p - start));
        return 0;
    }
    if (c == '[') {
        if (in_array)
            return fail(s, "nested arrays are not supported");
        return read_array(s, v);
    }
    if (c == '{')
        return fail(s, "inline tables are not supported");
    /* A bare token: up to blank, comma, bracket, comment or line end. */
    while (!at_end(s) && !strchr(" \t\r\n,]#", *s->p))
        s->p++;
    if (s->p == start)
        return fail(s, "expected a value");
    v->text = cs_arena_strndup(s->a, start, (size_t)(s->p - start));
    if (!strcmp(v->text, "true") || !strcmp(v->text, "false")) {
        v->type = CS_TOML_BOOL;
        v->b = v->text[0] == 't';
        return 0;
    }
    if ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == 'i' || c == 'n')
        return read_number(s, v, start, s->p);
    return fail(s, "'%s' is not a value (strings need quotes)", v->text);
}

/* Records key as seen; a second definition is an error. */
static int claim_key(scanner *s, const char *key)
{
    for (size_t i = 0; i < s->nseen; i++)
        if (!strcmp(s->seen[i], key))
            return fail(s, "defined twice");
    if (s->nseen == TOML_MAX_KEYS)
        return fail(s, "more than %d keys", TOML_MAX_KEYS);
    s->seen[s->nseen++] = key;
    return 0;
}

static int read_header(scanner *s)
{
    s->p++; /* [ */
    if (peek(s) == '[')
        return fail(s, "arrays of tables are not supported");
    char *name;
    if (read_key(s, &name) != 0)
        return -1;
    skip_ws(s);
    if (peek(s) != ']')
        return fail(s, "expected ']' after the table name");
    s->p++;
    s->key = NULL;
    if (claim_key(s, cs_arena_printf(s->a, "[%s]", name)) != 0)
        return -1;
    s->table = cs_arena_printf(s->a, "%s.", name);
    return end_of_line(s);
}

static int read_keyval(scanner *s, cs_toml_fn fn, void *user)
{
    char *key;
    int line = s->line;
    if (read_key(s, &key) != 0)
        return -1;
    char *full = cs_arena_printf(s->a, "%s%s", s->table, key);
    s->key = full;
    skip_ws(s);
    if (peek(s) != '=')
        return fail(s, "expected '=' after the key");
    s->p++;
    if (claim_key(s, full) != 0)
        return -1;
    cs_toml_value v;
    if (read_value(s, &v, false) != 0)
        return -1;
    if (end_of_line(s) != 0)
        return -1;
    if (fn && fn(user, full, &v, line, s->err) != 0)
        return -1;
    s->key = NULL;
    return 0;
}

int cs_toml_parse(const char *text, size_t len, cs_toml_fn fn, void *user, cs_error *err)
{
    scanner s = {.p = text, .end = text + len, .line = 1, .table = "", .err = err};
    const char *nul = memchr(text, '\0', len);
    if (nul) {
        int line = 1;
        for (const char *q = text; q < nul; q++)
            line += *q == '\n';
        return cs_error_set(err, CS_ERR_INVALID, "line %d: NUL byte in the file", line);
    }
    s.a = cs_arena_new();
    s.seen = cs_arena_array(s.a, TOML_MAX_KEYS, sizeof *s.seen);
    int rc = 0;
    /* A UTF-8 byte order mark is allowed at the very start. */
    if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3))
        s.p += 3;
    while (rc == 0 && !at_end(&s)) {
        skip_ws(&s);
        int c = peek(&s);
        if (c == '#' || c == '\n' || c == '\r' || c < 0)
            rc = end_of_line(&s);
        else if (c == '[')
            rc = read_header(&s);
        else
            rc = read_keyval(&s, fn, user);
    }
    cs_arena_free(s.a);
    return rc;
}

/* Image reference grammar and normalisation; see imageref.h. */
#include "backend/imageref.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define NAME_MAX_LEN 255

static bool is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
            return false;
    return true;
}

static bool lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* [a-z0-9]+ ( ( [._] | __ | -+ ) [a-z0-9]+ )* */
static bool valid_path_component(const char *s, size_t n)
{
    if (n == 0 || !lower_alnum(s[0]) || !lower_alnum(s[n - 1]))
        return false;
    for (size_t i = 1; i < n; i++) {
        if (lower_alnum(s[i]))
            continue;
        size_t j = i;
        if (s[i] == '.' || s[i] == '_') {
            j = i + 1;
            if (s[i] == '_' && j < n && s[j] == '_')
                j++;
        } else if (s[i] == '-') {
            while (j < n && s[j] == '-')
                j++;
        } else {
            return false;
        }
        if (j >= n || !lower_alnum(s[j]))
            return false;
        i = j;
    }
    return true;
}

/* host components [A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])? joined by '.', then :port */
static bool valid_domain(const char *s, size_t n)
{
    const char *colon = memchr(s, ':', n);
    size_t hn = colon ? (size_t)(colon - s) : n;
    if (hn == 0)
        return false;
    if (colon) {
        size_t pn = n - hn - 1;
        if (pn == 0 || pn > 5)
            return false;
        for (size_t i = 0; i < pn; i++)
            if (!isdigit((unsigned char)colon[1 + i]))
                return false;
    }
    size_t start = 0;
    for (size_t i = 0; i <= hn; i++) {
        if (i < hn && s[i] != '.')
            continue;
        size_t len = i - start;
        if (len == 0 || !isalnum((unsigned char)s[start]) || !isalnum((unsigned char)s[i - 1]))
            return false;
        for (size_t k = start; k < i; k++)
            if (!isalnum((unsigned char)s[k]) && s[k] != '-')
                return false;
        start = i + 1;
    }
    return true;
}

static bool valid_tag(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 128)
        return false;
    if (!isalnum((unsigned char)s[0]) && s[0] != '_')
        return false;
    for (size_t i = 1; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
            return false;
    return true;
}

static bool valid_digest(const char *s)
{
    const char *colon = strchr(s, ':');
    if (!colon || colon == s)
        return false;
    for (const char *p = s; p < colon; p++)
        if (!lower_alnum(*p) && *p != '.' && *p != '+' && *p != '_' && *p != '-')
            return false;
    size_t hex = strlen(colon + 1);
    if (!strncmp(s, "sha256:", 7) && hex != 64)
        return false;
    if (!strncmp(s, "sha512:", 7) && hex != 128)
        return false;
    return hex >= 32 && is_hex(colon + 1, hex);
}

static int parse_id(const char *s, cs_imageref *out)
{
    const char *hex = !strncmp(s, "sha256:", 7) ? s + 7 : s;
    if (strlen(hex) != 64 || !is_hex(hex, 64))
        return -1;
    out->is_id = true;
    snprintf(out->id, sizeof out->id, "sha256:%s", hex);
    return 0;
}

static int split_domain(const char *name, cs_imageref *out, cs_error *err, const char *orig)
{
    const char *slash = strchr(name, '/');
    const char *rest = name;
    if (slash) {
        size_t n = (size_t)(slash - name);
        bool is_domain = memchr(name, '.', n) || memchr(name, ':', n) || (n == 9 && !strncmp(name, "localhost", 9));
        for (size_t i = 0; i < n && !is_domain; i++)
            if (isupper((unsigned char)name[i]))
                is_domain = true;
        if (is_domain) {
            if (!valid_domain(name, n) || n >= sizeof out->domain)
                return cs_error_set(err, CS_ERR_INVALID, "image reference %s: invalid registry host", orig);
            memcpy(out->domain, name, n);
            out->domain[n] = '\0';
            rest = slash + 1;
        }
    }
    if (!out->domain[0])
        strcpy(out->domain, CS_IMAGEREF_DEFAULT_DOMAIN);
    if (!strcmp(out->domain, "index.docker.io"))
        strcpy(out->domain, CS_IMAGEREF_DEFAULT_DOMAIN);
    bool official = !strcmp(out->domain, CS_IMAGEREF_DEFAULT_DOMAIN) && !strchr(rest, '/');
    int n = snprintf(out->path, sizeof out->path, "%s%s", official ? "library/" : "", rest);
    if (n < 0 || (size_t)n >= sizeof out->path)
        return cs_error_set(err, CS_ERR_INVALID, "image reference %s: name too long", orig);
    /* every path component must be lowercase alphanumerics with separators */
    const char *p = out->path;
    while (*p) {
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (!valid_path_component(p, len))
            return cs_error_set(err, CS_ERR_INVALID,
                                "image reference %s: invalid repository name (lowercase letters, digits and "
                                "separators only)",
                                orig);
        p += len + (e ? 1 : 0);
        if (e && !*p)
            return cs_error_set(err, CS_ERR_INVALID, "image reference %s: name ends with /", orig);
    }
    return 0;
}

int cs_imageref_parse(const char *s, cs_imageref *out, cs_error *err)
{
    memset(out, 0, sizeof *out);
    if (!s || !*s)
        return cs_error_set(err, CS_ERR_INVALID, "image reference is empty");
    if (strlen(s) > 1024)
        return cs_error_set(err, CS_ERR_INVALID, "image reference is longer than 1024 bytes");
    if (parse_id(s, out) == 0)
        return 0;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
            return cs_error_set(err, CS_ERR_INVALID, "image reference \"%s\": contains whitespace or non-ASCII", s);

    char name[1100];
    snprintf(name, sizeof name, "%s", s);
    char *at = strchr(name, '@');
    if (at) {
        *at = '\0';
        if (!valid_digest(at + 1))
            return cs_error_set(err, CS_ERR_INVALID, "image reference %s: invalid digest", s);
        snprintf(out->digest, sizeof out->digest, "%s", at + 1);
    }
    char *last_slash = strrchr(name, '/');
    char *colon = strrchr(last_slash ? last_slash : name, ':');
    if (colon) {
        *colon = '\0';
        if (!valid_tag(colon + 1))
            return cs_error_set(err, CS_ERR_INVALID, "image reference %s: invalid tag", s);
        snprintf(out->tag, sizeof out->tag, "%s", colon + 1);
    }
    if (!name[0])
        return cs_error_set(err, CS_ERR_INVALID, "image reference %s: no repository name", s);
    if (strlen(name) > NAME_MAX_LEN)
        return cs_error_set(err, CS_ERR_INVALID, "image reference %s: name longer than %d bytes", s, NAME_MAX_LEN);
    return split_domain(name, out, err, s);
}

char *cs_imageref_repo(const cs_imageref *r, cs_arena *a)
{
    if (r->is_id)
        return cs_arena_strdup(a, r->id);
    return cs_arena_printf(a, "%s/%s", r->domain, r->path);
}

char *cs_imageref_full(const cs_imageref *r, cs_arena *a)
{
    if (r->is_id)
        return cs_arena_strdup(a, r->id);
    if (r->digest[0])
        return cs_arena_printf(a, "%s/%s@%s", r->domain, r->path, r->digest);
    return cs_arena_printf(a, "%s/%s:%s", r->domain, r->path, r->tag[0] ? r->tag : "latest");
}

char *cs_imageref_normalize(const char *s, cs_arena *a)
{
    cs_imageref r;
    if (!s || !strncmp(s, "<none>", 6) || cs_imageref_parse(s, &r, NULL) != 0 || r.is_id)
        return NULL;
    if (r.digest[0] && r.tag[0]) /* "name:tag@digest": report the digest form */
        r.tag[0] = '\0';
    return cs_imageref_full(&r, a);
}

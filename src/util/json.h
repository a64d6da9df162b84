/* JSON for engine traffic.
 *
 * Reader: one small layer over jsmn used everywhere (never ad-hoc token walks in
 * handlers). A document borrows its text (which must outlive it) and owns its
 * token array. Values are addressed by token index; -1 means "absent", and every
 * getter accepts -1 and answers "absent"/default, so lookups chain safely:
 *     int cfg = cs_json_get(j, 0, "Config");
 *     char *user = cs_json_get_str(j, cfg, "User", arena);   // NULL if absent
 * No function ever reads past the token array or the text, whatever the input.
 *
 * Writer: a growable buffer that inserts commas itself and escapes strings
 * correctly (quotes, backslash, control characters; invalid UTF-8 becomes U+FFFD). */
#ifndef CS_JSON_H
#define CS_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/error.h"

typedef enum cs_json_type {
    CS_JSON_NONE = 0, /* absent (token -1) */
    CS_JSON_OBJECT,
    CS_JSON_ARRAY,
    CS_JSON_STRING,
    CS_JSON_NUMBER,
    CS_JSON_TRUE,
    CS_JSON_FALSE,
    CS_JSON_NULL,
} cs_json_type;

typedef struct cs_json cs_json;

/* Parses text[0..len). The root value is token 0. Malformed or truncated input
 * fails with CS_ERR_INTERNAL ("malformed JSON at byte N"), never crashes. */
int cs_json_parse(const char *text, size_t len, cs_json **out, cs_error *err);
void cs_json_free(cs_json *j);

cs_json_type cs_json_type_of(const cs_json *j, int tok);
/* Members of an object / elements of an array; 0 for anything else. */
int cs_json_count(const cs_json *j, int tok);
/* Token just past the whole value at tok (skips nested values); -1 if tok is -1. */
int cs_json_skip(const cs_json *j, int tok);

/* Object member by exact key (no path parsing: Docker label keys contain dots). */
int cs_json_key(const cs_json *j, int obj, const char *key);
/* Object member by dotted path, "Config.User"; each step must be an object. */
int cs_json_get(const cs_json *j, int obj, const char *path);
/* Array element i (0-based), -1 if out of range or not an array. */
int cs_json_at(const cs_json *j, int arr, int i);

/* Iteration. Arrays: element tokens. Objects: *key_tok gets the key's token
 * (a string) and the return value is the member's value token.
 *     for (int it = cs_json_first(j, arr); it >= 0; it = cs_json_next(j, arr, it)) ...
 *     int k; for (int v = cs_json_first_member(j, obj, &k); v >= 0; v = cs_json_next_member(j, obj, v, &k)) ... */
int cs_json_first(const cs_json *j, int arr);
int cs_json_next(const cs_json *j, int arr, int elem);
int cs_json_first_member(const cs_json *j, int obj, int *key_tok);
int cs_json_next_member(const cs_json *j, int obj, int value_tok, int *key_tok);

/* Raw text of any value (strings without their quotes, still escaped). */
const char *cs_json_raw(const cs_json *j, int tok, size_t *len);

/* Strings, unescaped (\uXXXX incl. surrogate pairs to UTF-8). With arena NULL the
 * copy is malloc'd and the caller frees it. NULL if tok is absent or not a string. */
char *cs_json_str(const cs_json *j, int tok, cs_arena *arena);
/* Compares the unescaped string at tok with s. False if not a string. */
bool cs_json_str_eq(const cs_json *j, int tok, const char *s);

/* Numbers and booleans: 0 on success, -1 if absent, of another type or out of range. */
int cs_json_int64(const cs_json *j, int tok, int64_t *out);
int cs_json_uint64(const cs_json *j, int tok, uint64_t *out);
int cs_json_double(const cs_json *j, int tok, double *out);
int cs_json_bool(const cs_json *j, int tok, bool *out);

/* Path lookups with a default for absent or mistyped values. */
char *cs_json_get_str(const cs_json *j, int obj, const char *path, cs_arena *arena);
int64_t cs_json_get_int64(const cs_json *j, int obj, const char *path, int64_t def);
bool cs_json_get_bool(const cs_json *j, int obj, const char *path, bool def);

/* ---- writer ---- */
#define CS_JW_MAX_DEPTH 64

typedef struct cs_jw {
    char *buf;
    size_t len, cap;
    int depth;
    bool need_comma[CS_JW_MAX_DEPTH + 1];
    bool after_key;
} cs_jw;

void cs_jw_init(cs_jw *w);
void cs_jw_free(cs_jw *w);
/* The NUL-terminated text; ownership moves to the caller and w is left
 * empty (cs_jw_init it to write again; cs_jw_free on it is harmless). */
char *cs_jw_take(cs_jw *w, size_t *len);
/* Borrowed view of the text so far (NUL-terminated). */
const char *cs_jw_str_view(const cs_jw *w);

void cs_jw_obj_begin(cs_jw *w);
void cs_jw_obj_end(cs_jw *w);
void cs_jw_arr_begin(cs_jw *w);
void cs_jw_arr_end(cs_jw *w);
void cs_jw_key(cs_jw *w, const char *key);
void cs_jw_string(cs_jw *w, const char *s); /* NULL writes null */
void cs_jw_stringn(cs_jw *w, const char *s, size_t n);
void cs_jw_int(cs_jw *w, int64_t v);
void cs_jw_uint(cs_jw *w, uint64_t v);
void cs_jw_double(cs_jw *w, double v);
void cs_jw_bool(cs_jw *w, bool v);
void cs_jw_null(cs_jw *w);
/* An already-encoded JSON value, inserted as is. */
void cs_jw_raw(cs_jw *w, const char *json, size_t n);

/* key + value in one call */
void cs_jw_kv_str(cs_jw *w, const char *key, const char *v);
void cs_jw_kv_int(cs_jw *w, const char *key, int64_t v);
void cs_jw_kv_bool(cs_jw *w, const char *key, bool v);
/* key: an array of these strings */
void cs_jw_kv_strs(cs_jw *w, const char *key, const char *const *items, size_t n);

#endif

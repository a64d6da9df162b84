/* A small strict TOML reader for crishim's config file. Debian 12 ships no C
 * TOML library (only C++, Perl, Ruby and Rust ones), so this covers the part
 * of TOML 1.0 a flat daemon config needs and refuses the rest by name:
 * comments, bare/quoted/dotted keys, [table] headers (keys become
 * "table.key"), basic and literal strings, decimal integers, floats, booleans
 * and one-line or multi-line arrays of those. Multi-line strings, inline
 * tables, arrays of tables, dates, hex/octal/binary numbers, inf/nan and nested
 * arrays are errors that say so. Duplicate keys are errors, as TOML demands. */
#ifndef CS_CONFIG_TOML_H
#define CS_CONFIG_TOML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

typedef enum cs_toml_type {
    CS_TOML_STRING,
    CS_TOML_INT,
    CS_TOML_FLOAT,
    CS_TOML_BOOL,
    CS_TOML_ARRAY, /* of scalars */
} cs_toml_type;

typedef struct cs_toml_value {
    cs_toml_type type;
    const char *str; /* STRING: unescaped, NUL-terminated */
    int64_t i;
    double f;
    bool b;
    const struct cs_toml_value *items; /* ARRAY */
    size_t nitems;
    const char *text; /* the value as written (scalars), for messages */
} cs_toml_value;

/* Called once per key, in file order. key and v are valid only during the
 * call. Returning non-zero stops the parse; the caller's err is kept. */
typedef int (*cs_toml_fn)(void *user, const char *key, const cs_toml_value *v, int line, cs_error *err);

/* Parses text[0..len) (need not be NUL-terminated). Syntax errors come back as
 * CS_ERR_INVALID "line N: ..." ("line N, key K: ..." once the key is known). */
int cs_toml_parse(const char *text, size_t len, cs_toml_fn fn, void *user, cs_error *err);

const char *cs_toml_type_name(cs_toml_type t);

#endif

/* Base64 (RFC 4648), standard and URL-safe alphabets: CRI's `auth` field is
 * standard base64 of "user:pass", Docker's X-Registry-Auth header is base64url
 * of the auth JSON. */
#ifndef CS_BASE64_H
#define CS_BASE64_H

#include <stdbool.h>
#include <stddef.h>

/* malloc'd and NUL-terminated; caller frees. url_safe uses '-' and '_' and
 * keeps '=' padding (Docker's X-Registry-Auth accepts it). */
char *cs_base64_encode(const void *data, size_t len, bool url_safe);

/* Decodes s[0..len), accepting both alphabets (even mixed) with or without
 * padding; padding, if present, must complete the last 4-character group.
 * Whitespace is invalid. On success *out is malloc'd (caller frees) and
 * NUL-terminated one byte past *out_len. On invalid input returns -1 with
 * *out NULL and *out_len 0. */
int cs_base64_decode(const char *s, size_t len, unsigned char **out, size_t *out_len);

#endif

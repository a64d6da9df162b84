/* Base64 (RFC 4648), standard and URL-safe alphabets. */
#ifndef CS_BASE64_H
#define CS_BASE64_H

#include <stdbool.h>
#include <stddef.h>

/* malloc'd and NUL-terminated; url_safe uses '-' and '_' and keeps '='
 * padding (Docker's X-Registry-Auth accepts it). */
char *cs_base64_encode(const void *data, size_t len, bool url_safe);
/* Accepts both alphabets, padding optional. *out is malloc'd and
 * NUL-terminated. -1 on invalid input. */
int cs_base64_decode(const char *s, size_t len, unsigned char **out, size_t *out_len);

#endif

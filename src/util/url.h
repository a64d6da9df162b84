/* Percent-encoding for engine URLs. */
#ifndef CS_URL_H
#define CS_URL_H

#include "util/arena.h"

/* Query values: everything but unreserved characters (A-Z a-z 0-9 - . _ ~). */
char *cs_url_query_escape(const char *s, cs_arena *a);
/* Path segments that may carry an image name: also keeps '/', ':' and '@'. */
char *cs_url_path_escape(const char *s, cs_arena *a);

#endif

/* libFuzzer target: the JSON reader on arbitrary bytes, every getter walked
 * over whatever parses. Engine responses are input crishim doesn't control. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/json.h"

static void walk(const cs_json *j, int tok, int depth)
{
    if (depth > 64)
        return;
    int64_t i;
    uint64_t u;
    double d;
    bool b;
    switch (cs_json_type_of(j, tok)) {
    case CS_JSON_ARRAY:
        for (int it = cs_json_first(j, tok); it >= 0; it = cs_json_next(j, tok, it))
            walk(j, it, depth + 1);
        cs_json_at(j, tok, 3);
        break;
    case CS_JSON_OBJECT: {
        int k;
        for (int v = cs_json_first_member(j, tok, &k); v >= 0; v = cs_json_next_member(j, tok, v, &k)) {
            free(cs_json_str(j, k, NULL));
            walk(j, v, depth + 1);
        }
        cs_json_get(j, tok, "a.b.c");
        cs_json_key(j, tok, "Id");
        break;
    }
    case CS_JSON_STRING:
        free(cs_json_str(j, tok, NULL));
        cs_json_str_eq(j, tok, "running");
        break;
    default:
        cs_json_int64(j, tok, &i);
        cs_json_uint64(j, tok, &u);
        cs_json_double(j, tok, &d);
        cs_json_bool(j, tok, &b);
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* an exact-size copy, so any read past the end is caught */
    char *text = malloc(size ? size : 1);
    memcpy(text, data, size);
    cs_json *j;
    if (cs_json_parse(text, size, &j, NULL) == 0) {
        walk(j, 0, 0);
        cs_json_free(j);
    }
    /* and the writer on the same bytes as a string */
    cs_jw w;
    cs_jw_init(&w);
    cs_jw_obj_begin(&w);
    cs_jw_key(&w, "k");
    cs_jw_stringn(&w, text, size);
    cs_jw_obj_end(&w);
    size_t len;
    char *out = cs_jw_take(&w, &len);
    cs_json *back;
    if (cs_json_parse(out, len, &back, NULL) != 0)
        abort(); /* the writer must always produce valid JSON */
    cs_json_free(back);
    free(out);
    free(text);
    return 0;
}

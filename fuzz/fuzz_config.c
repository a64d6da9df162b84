/* libFuzzer target: the config file reader on arbitrary bytes. First the
 * TOML scanner alone (every value's strings and arrays touched), then the
 * whole load into a cs_config (keys looked up, values checked). A config file
 * is written by people; a typo must be an error, never a crash. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "config/config.h"
#include "config/toml.h"

static int touch(void *user, const char *key, const cs_toml_value *v, int line, cs_error *err)
{
    size_t *sum = user;
    *sum += strlen(key) + (size_t)line;
    if (v->type == CS_TOML_STRING)
        *sum += strlen(v->str);
    for (size_t i = 0; i < v->nitems; i++)
        if (v->items[i].type == CS_TOML_STRING)
            *sum += strlen(v->items[i].str);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cs_error err;
    size_t sum = 0;
    cs_toml_parse((const char *)data, size, touch, &sum, &err);
    cs_config cfg;
    cs_config_defaults(&cfg);
    if (cs_config_load_toml(&cfg, "fuzz.toml", (const char *)data, size, &err) == 0)
        cs_config_validate(&cfg, &err);
    cs_config_free(&cfg);
    return 0;
}

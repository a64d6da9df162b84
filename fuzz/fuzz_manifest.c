/* libFuzzer target: registry answers (manifests, indexes, image configs) are
 * input crishim doesn't control; every parser over arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>

#include "containerd/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    cs_arena *a = cs_arena_new();
    cs_error err;
    reg_desc d;
    mf_index_select(s, size, "linux", "amd64", &d, &err);
    mf_manifest m;
    mf_manifest_parse(s, size, a, &m, &err);
    mf_image_config c;
    if (mf_config_parse(s, size, a, &c, &err) == 0) {
        const char **ids;
        mf_chain_ids(c.diff_ids, c.n_diff_ids, a, &ids, &err);
    }
    cs_arena_free(a);
    return 0;
}

/* Scratch trees for unit tests (tree.h). */
#include "tree.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/fs.h"

char tree_root[256];

void tree_make(const char *tag)
{
    snprintf(tree_root, sizeof tree_root, "/tmp/cs-%s-XXXXXX", tag);
    ck_assert_ptr_nonnull(mkdtemp(tree_root));
}

void tree_put(const char *rel, const char *text)
{
    char path[512], dir[512];
    snprintf(path, sizeof path, "%s/%s", tree_root, rel);
    snprintf(dir, sizeof dir, "%s", path);
    *strrchr(dir, '/') = '\0';
    ck_assert_int_eq(cs_mkdir_p(dir, 0755, NULL), 0);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

void tree_remove(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tree_root);
    ck_assert_int_eq(system(cmd), 0);
}

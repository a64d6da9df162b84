/* A scratch directory tree for unit tests that read files (fake cgroupfs,
 * /proc, layers): one per test, under /tmp. */
#ifndef CS_TEST_TREE_H
#define CS_TEST_TREE_H

/* The current tree's root ("" before tree_make). */
extern char tree_root[256];

/* A fresh empty root named after `tag`. */
void tree_make(const char *tag);
/* Writes text to root/rel, creating directories. */
void tree_put(const char *rel, const char *text);
void tree_remove(void);

#endif

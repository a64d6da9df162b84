/* Bump allocator in growing blocks; see arena.h. */
#include "util/arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

#define ARENA_ALIGN 16
#define ARENA_FIRST_BLOCK 4096
#define ARENA_BIG (64 * 1024)

typedef struct arena_block {
    struct arena_block *next;
    size_t size; /* usable bytes in data[] */
    size_t used;
    _Alignas(ARENA_ALIGN) unsigned char data[];
} arena_block;

struct cs_arena {
    arena_block *head;  /* newest block first */
    arena_block *first; /* the initial block, kept across resets */
    size_t total;
};

static arena_block *block_new(size_t size)
{
    arena_block *b = cs_xmalloc(sizeof *b + size);
    b->next = NULL;
    b->size = size;
    b->used = 0;
    return b;
}

cs_arena *cs_arena_new(void)
{
    cs_arena *a = cs_xcalloc(1, sizeof *a);
    a->head = a->first = block_new(ARENA_FIRST_BLOCK);
    return a;
}

void cs_arena_free(cs_arena *a)
{
    if (!a)
        return;
    arena_block *b = a->head;
    while (b) {
        arena_block *next = b->next;
        free(b);
        b = next;
    }
    free(a);
}

void cs_arena_reset(cs_arena *a)
{
    arena_block *b = a->head;
    while (b) {
        arena_block *next = b->next;
        if (b != a->first)
            free(b);
        b = next;
    }
    a->first->next = NULL;
    a->first->used = 0;
    a->head = a->first;
    a->total = 0;
}

void *cs_arena_alloc(cs_arena *a, size_t size)
{
    size_t need = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (need == 0)
        need = ARENA_ALIGN;
    arena_block *b = a->head;
    if (b->size - b->used < need) {
        if (need > ARENA_BIG) {
            /* A big one-off allocation gets a block of its own behind the head,
             * so the head's free space keeps serving small allocations. */
            arena_block *big = block_new(need);
            big->used = need;
            big->next = b->next;
            b->next = big;
            a->total += need;
            memset(big->data, 0, need);
            return big->data;
        }
        size_t bsize = b->size < ARENA_BIG ? b->size * 2 : ARENA_BIG;
        if (bsize < need)
            bsize = need;
        arena_block *nb = block_new(bsize);
        nb->next = b;
        a->head = nb;
        b = nb;
    }
    void *p = b->data + b->used;
    b->used += need;
    a->total += need;
    memset(p, 0, need);
    return p;
}

char *cs_arena_strndup(cs_arena *a, const char *s, size_t n)
{
    char *p = cs_arena_alloc(a, n + 1);
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *cs_arena_strdup(cs_arena *a, const char *s)
{
    if (!s)
        s = "";
    return cs_arena_strndup(a, s, strlen(s));
}

char *cs_arena_printf(cs_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return cs_arena_strdup(a, "");
    char *p = cs_arena_alloc(a, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void *cs_arena_array(cs_arena *a, size_t n, size_t elem_size)
{
    if (n && elem_size > SIZE_MAX / n)
        cs_die("arena array overflow");
    return cs_arena_alloc(a, n * elem_size);
}

static void *pb_alloc(void *data, size_t size)
{
    return cs_arena_alloc(data, size);
}

static void pb_free(void *data, void *ptr)
{
    (void)data;
    (void)ptr;
}

ProtobufCAllocator cs_arena_pb_allocator(cs_arena *a)
{
    ProtobufCAllocator al = {.alloc = pb_alloc, .free = pb_free, .allocator_data = a};
    return al;
}

size_t cs_arena_used(const cs_arena *a)
{
    return a->total;
}

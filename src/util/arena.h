/* A bump allocator for everything one RPC allocates: the unpacked request, the
 * response message tree, engine JSON copied out for it. The call frees the
 * arena once, after the reply is on the wire, so handlers never track
 * individual response fields. Not thread-safe: one arena per call/thread. */
#ifndef CS_ARENA_H
#define CS_ARENA_H

#include <stddef.h>
#include <protobuf-c/protobuf-c.h>

typedef struct cs_arena cs_arena;

cs_arena *cs_arena_new(void);
void cs_arena_free(cs_arena *a);
/* Frees every allocation but keeps the first block for reuse. */
void cs_arena_reset(cs_arena *a);

/* Never return NULL: allocation failure aborts (an OOM daemon can't answer). */
void *cs_arena_alloc(cs_arena *a, size_t size);   /* zeroed, 16-byte aligned */
char *cs_arena_strdup(cs_arena *a, const char *s); /* NULL -> "" */
char *cs_arena_strndup(cs_arena *a, const char *s, size_t n);
char *cs_arena_printf(cs_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A zeroed array of n pointers/elements. */
void *cs_arena_array(cs_arena *a, size_t n, size_t elem_size);

/* protobuf-c allocator view of the arena: unpack requests into it; free is a no-op. */
ProtobufCAllocator cs_arena_pb_allocator(cs_arena *a);

/* Bytes handed out so far (for tests and limits). */
size_t cs_arena_used(const cs_arena *a);

#endif

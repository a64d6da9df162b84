/* Test support: a request of any type with every field set, built from its
 * descriptor, so a suite can send every RPC something that passes decoding
 * and (mostly) validation without a hand-written request per RPC. */
#ifndef CS_TEST_FILL_H
#define CS_TEST_FILL_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>

#include "util/arena.h"

typedef struct tc_fill {
    bool truth;         /* bools true (but tty), strings "/<word>" (but log_path, hostname) */
    unsigned member;    /* which member of each oneof */
    const char *word;   /* strings; "a" when NULL */
    int depth;          /* how deep sub-messages are filled */
} tc_fill;

/* Every field of m (already initialised) set, in arena a: numbers 1, enums
 * their first value, one element per repeated field, sub-messages filled in
 * turn down to o->depth, member o->member of each oneof; without o->truth
 * bools false and strings o->word, with it bools true but tty (so "tty and
 * stderr" is not the error) and strings "/<word>" (some fields want absolute
 * paths) but log_path (a relative one) and hostname. */
void tc_fill_message(ProtobufCMessage *m, cs_arena *a, const tc_fill *o);

#endif

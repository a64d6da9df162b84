/* Test support: requests with every field filled; see fill.h. */
#include "fill.h"

#include <stdio.h>
#include <string.h>

static void fill(ProtobufCMessage *m, cs_arena *a, const tc_fill *o, int depth)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    const char *word = o->word ? o->word : "a";
    char path[64];
    snprintf(path, sizeof path, "/%s", word);
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        char *base = (char *)m;
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            unsigned ordinal = 0; /* among the members of this oneof */
            for (unsigned k = 0; k < i; k++)
                ordinal += (d->fields[k].flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
                           d->fields[k].quantifier_offset == f->quantifier_offset;
            if (ordinal != o->member)
                continue;
            *(uint32_t *)(base + f->quantifier_offset) = f->id;
        }
        if (f->type == PROTOBUF_C_TYPE_MESSAGE && depth <= 0)
            continue;
        size_t sz;
        switch (f->type) {
        case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
        case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64: case PROTOBUF_C_TYPE_DOUBLE:
            sz = 8;
            break;
        case PROTOBUF_C_TYPE_BOOL:
            sz = sizeof(protobuf_c_boolean);
            break;
        case PROTOBUF_C_TYPE_STRING: case PROTOBUF_C_TYPE_MESSAGE:
            sz = sizeof(void *);
            break;
        case PROTOBUF_C_TYPE_BYTES:
            sz = sizeof(ProtobufCBinaryData);
            break;
        default:
            sz = 4;
        }
        void *slot = base + f->offset;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            *(size_t *)(base + f->quantifier_offset) = 1;
            void *arr = cs_arena_alloc(a, sz);
            memset(arr, 0, sz);
            *(void **)slot = arr;
            slot = arr;
        } else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
                   f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE) {
            *(protobuf_c_boolean *)(base + f->quantifier_offset) = 1;
        }
        switch (f->type) {
        case PROTOBUF_C_TYPE_BOOL: /* no tty, so "tty and stderr" is not the error */
            *(protobuf_c_boolean *)slot = o->truth && strcmp(f->name, "tty") != 0;
            break;
        case PROTOBUF_C_TYPE_ENUM:
            *(int *)slot = ((const ProtobufCEnumDescriptor *)f->descriptor)->values[0].value;
            break;
        case PROTOBUF_C_TYPE_FLOAT:
            *(float *)slot = 1;
            break;
        case PROTOBUF_C_TYPE_DOUBLE:
            *(double *)slot = 1;
            break;
        case PROTOBUF_C_TYPE_STRING:
            /* some fields want absolute paths; log_path a relative one, hostname none */
            *(char **)slot = cs_arena_strdup(a, o->truth && strcmp(f->name, "log_path") && strcmp(f->name, "hostname") ? path : word);
            break;
        case PROTOBUF_C_TYPE_BYTES:
            *(ProtobufCBinaryData *)slot = (ProtobufCBinaryData){.len = 1, .data = (uint8_t *)cs_arena_strdup(a, "a")};
            break;
        case PROTOBUF_C_TYPE_MESSAGE: {
            const ProtobufCMessageDescriptor *sd = f->descriptor;
            ProtobufCMessage *sub = cs_arena_alloc(a, sd->sizeof_message);
            protobuf_c_message_init(sd, sub);
            fill(sub, a, o, depth - 1);
            *(ProtobufCMessage **)slot = sub;
            break;
        }
        default:
            if (sz == 8)
                *(int64_t *)slot = 1;
            else
                *(int32_t *)slot = 1;
        }
    }
}


void tc_fill_message(ProtobufCMessage *m, cs_arena *a, const tc_fill *o)
{
    fill(m, a, o, o->depth);
}

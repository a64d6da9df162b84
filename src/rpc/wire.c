/* A walk over protobuf wire bytes guided by the message descriptors; see
 * wire.h. Runs after protobuf-c has unpacked the same bytes, so the encoding
 * is known to be sound; it still bounds every read. */
#include "rpc/wire.h"

#include <stdio.h>
#include <string.h>

#define MAX_DEPTH 32
#define MAX_COUNTED 64 /* fields per message whose repeats get an index */

static bool varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false;
}

/* Appends ".name" or ".name[i]" to path at its length `at`. */
static size_t append(char *path, size_t cap, size_t at, const char *name, bool repeated, unsigned index)
{
    if (at >= cap)
        return at;
    int n = repeated ? snprintf(path + at, cap - at, "%s%s[%u]", at ? "." : "", name, index)
                     : snprintf(path + at, cap - at, "%s%s", at ? "." : "", name);
    return n < 0 ? at : at + (size_t)n;
}

static bool walk(const ProtobufCMessageDescriptor *desc, const uint8_t *p, const uint8_t *end, char *path, size_t cap,
                 size_t at, int depth)
{
    unsigned seen[MAX_COUNTED] = {0};
    while (p < end) {
        uint64_t tag, len;
        if (!varint(&p, end, &tag))
            return false;
        switch (tag & 7) {
        case 0:
            if (!varint(&p, end, &len))
                return false;
            continue;
        case 1:
            if (end - p < 8)
                return false;
            p += 8;
            continue;
        case 5:
            if (end - p < 4)
                return false;
            p += 4;
            continue;
        case 2:
            break;
        default: /* groups: not in these protos */
            return false;
        }
        if (!varint(&p, end, &len) || len > (uint64_t)(end - p))
            return false;
        const uint8_t *v = p;
        p += len;
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(desc, (unsigned)(tag >> 3));
        if (!f)
            continue; /* unknown field */
        bool repeated = f->label == PROTOBUF_C_LABEL_REPEATED;
        size_t fi = (size_t)(f - desc->fields);
        unsigned index = fi < MAX_COUNTED ? seen[fi]++ : 0;
        if (f->type == PROTOBUF_C_TYPE_STRING && memchr(v, 0, len)) {
            append(path, cap, at, f->name, repeated, index);
            return true;
        }
        if (f->type == PROTOBUF_C_TYPE_MESSAGE && depth < MAX_DEPTH &&
            walk(f->descriptor, v, v + len, path, cap, append(path, cap, at, f->name, repeated, index), depth + 1))
            return true;
        if (at < cap)
            path[at] = '\0'; /* undo what the sub-walk appended */
    }
    return false;
}

bool cs_wire_find_nul(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len, char *path,
                      size_t cap)
{
    if (cap)
        path[0] = '\0';
    return walk(desc, data, data + len, path, cap, 0, 0);
}

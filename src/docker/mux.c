/* Docker stream demultiplexer; see mux.h. */
#include "docker/mux.h"

#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

#define FRAME_MAX (8u * 1024 * 1024)

int docker_demux_feed(docker_demux *m, const char *data, size_t len, cs_error *err)
{
    while (len > 0) {
        if (m->have_header < 8) {
            size_t n = 8 - m->have_header < len ? 8 - m->have_header : len;
            memcpy(m->header + m->have_header, data, n);
            m->have_header += n;
            data += n;
            len -= n;
            if (m->have_header < 8)
                return 0;
            m->frame_len = (size_t)m->header[4] << 24 | (size_t)m->header[5] << 16 | (size_t)m->header[6] << 8 |
                           (size_t)m->header[7];
            if (m->frame_len > FRAME_MAX)
                return cs_error_set(err, CS_ERR_INTERNAL, "docker stream frame of %zu bytes", m->frame_len);
            if (m->frame_len + 1 > m->frame_cap) {
                m->frame_cap = m->frame_len + 1;
                m->frame = cs_xrealloc(m->frame, m->frame_cap);
            }
            m->frame_have = 0;
        }
        size_t n = m->frame_len - m->frame_have < len ? m->frame_len - m->frame_have : len;
        memcpy(m->frame + m->frame_have, data, n);
        m->frame_have += n;
        data += n;
        len -= n;
        if (m->frame_have == m->frame_len) {
            m->frame[m->frame_len] = '\0';
            m->have_header = 0;
            if (m->on_frame(m->user, m->header[0], m->frame, m->frame_len, err) != 0)
                return -1;
        }
    }
    return 0;
}

void docker_demux_free(docker_demux *m)
{
    free(m->frame);
    m->frame = NULL;
    m->frame_cap = 0;
}

/* Docker's multiplexed stdio stream (exec and logs of non-TTY containers):
 * frames of an 8-byte header {stream, 0, 0, 0, size (big endian)} and the
 * payload. Frames can straddle network chunks; this reassembles them. */
#ifndef CS_DOCKER_MUX_H
#define CS_DOCKER_MUX_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define DOCKER_STREAM_STDIN 0
#define DOCKER_STREAM_STDOUT 1
#define DOCKER_STREAM_STDERR 2

typedef int (*docker_frame_fn)(void *user, int stream, const char *data, size_t len, cs_error *err);

typedef struct docker_demux {
    unsigned char header[8];
    size_t have_header;
    char *frame;
    size_t frame_len, frame_have, frame_cap;
    docker_frame_fn on_frame;
    void *user;
} docker_demux;

int docker_demux_feed(docker_demux *m, const char *data, size_t len, cs_error *err);
void docker_demux_free(docker_demux *m);

#endif

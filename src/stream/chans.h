/* The channels of one exec or attach connection, whatever carries them:
 * Kubernetes numbers them the same on SPDY (one stream each) and WebSocket
 * (one leading byte per message), so the session logic in remotecommand.c
 * is written once against this small interface. */
#ifndef CS_STREAM_CHANS_H
#define CS_STREAM_CHANS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

enum {
    STRM_CH_STDIN = 0,
    STRM_CH_STDOUT = 1,
    STRM_CH_STDERR = 2,
    STRM_CH_ERROR = 3,
    STRM_CH_RESIZE = 4,
    STRM_CH_MAX = 5,
};

/* Where a transport delivers what the client sends. Called on the
 * transport's input threads. */
typedef struct strm_sink strm_sink;
struct strm_sink {
    void (*stdin_data)(strm_sink *s, const void *data, size_t len);
    void (*stdin_eof)(strm_sink *s);
    void (*resize_data)(strm_sink *s, const void *data, size_t len); /* raw JSON bytes */
    atomic_bool stop; /* set by the session: input loops return soon after */
};

typedef struct strm_chans strm_chans;
typedef struct strm_chans_ops {
    /* How many input loops to run, each on its own thread. */
    int (*nsources)(strm_chans *c);
    /* Delivers input to sink until the connection ends or sink->stop. */
    void (*input_loop)(strm_chans *c, int source, strm_sink *sink);
    /* Whether the client has this channel (it opened the stream, or the
     * request enabled it). */
    bool (*has)(strm_chans *c, int chan);
    int (*write)(strm_chans *c, int chan, const void *data, size_t len, cs_error *err);
    void (*close_chan)(strm_chans *c, int chan);
    bool (*alive)(strm_chans *c);
    void (*free)(strm_chans *c);
} strm_chans_ops;

struct strm_chans {
    const strm_chans_ops *ops;
    /* 4 and up: the error channel carries a Status object as JSON, also on
     * success; below: plain text, failures only. */
    int version;
};

#endif

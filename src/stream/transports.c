/* strm_chans over SPDY streams and over WebSocket channel framing (see
 * transports.h). */
#include "stream/transports.h"

#include <stdlib.h>
#include <string.h>

#include "util/base64.h"
#include "util/mem.h"
#include "util/time.h"

#define STREAM_CREATION_TIMEOUT_MS 30000
#define INPUT_CHUNK (32 * 1024)
#define INPUT_POLL_MS 200

int strm_protocol_version(const char *protocol)
{
    if (protocol && protocol[0] == 'v' && protocol[1] >= '2' && protocol[1] <= '9' && protocol[2] == '.')
        return protocol[1] - '0';
    return 1;
}

/* ---- SPDY: one stream per channel, named by its streamtype header ---- */

static const char *const stream_types[STRM_CH_MAX] = {"stdin", "stdout", "stderr", "error", "resize"};

typedef struct spdy_chans {
    strm_chans base;
    spdy_conn *conn;
    spdy_stream *st[STRM_CH_MAX];
    bool closed[STRM_CH_MAX];
    int inputs[2]; /* channels the client writes: stdin, resize */
    int ninputs;
} spdy_chans;

static int sc_nsources(strm_chans *base)
{
    return ((spdy_chans *)base)->ninputs;
}

static void sc_input_loop(strm_chans *base, int source, strm_sink *sink)
{
    spdy_chans *c = (spdy_chans *)base;
    int chan = c->inputs[source];
    char *buf = cs_xmalloc(INPUT_CHUNK);
    while (!atomic_load(&sink->stop)) {
        size_t n;
        int rc = spdy_stream_read(c->st[chan], buf, INPUT_CHUNK, &n, INPUT_POLL_MS, NULL);
        if (rc == 1)
            continue;
        if (rc < 0 || atomic_load(&sink->stop))
            break;
        if (n == 0) { /* the client closed its half: stdin's EOF */
            if (chan == STRM_CH_STDIN && spdy_conn_alive(c->conn))
                sink->stdin_eof(sink);
            break;
        }
        if (chan == STRM_CH_STDIN)
            sink->stdin_data(sink, buf, n);
        else
            sink->resize_data(sink, buf, n);
    }
    free(buf);
}

static bool sc_has(strm_chans *base, int chan)
{
    return ((spdy_chans *)base)->st[chan] != NULL;
}

static int sc_write(strm_chans *base, int chan, const void *data, size_t len, cs_error *err)
{
    spdy_chans *c = (spdy_chans *)base;
    return spdy_stream_write(c->st[chan], data, len, err);
}

static void sc_close_chan(strm_chans *base, int chan)
{
    spdy_chans *c = (spdy_chans *)base;
    if (c->st[chan] && !c->closed[chan]) {
        c->closed[chan] = true;
        spdy_stream_close(c->st[chan], NULL);
    }
}

static bool sc_alive(strm_chans *base)
{
    return spdy_conn_alive(((spdy_chans *)base)->conn);
}

static void sc_free(strm_chans *base)
{
    spdy_chans *c = (spdy_chans *)base;
    spdy_conn_free(c->conn);
    free(c);
}

static const strm_chans_ops spdy_chans_ops = {
    .nsources = sc_nsources,
    .input_loop = sc_input_loop,
    .has = sc_has,
    .write = sc_write,
    .close_chan = sc_close_chan,
    .alive = sc_alive,
    .free = sc_free,
};

static int chan_of_type(const char *type)
{
    for (int i = 0; type && i < STRM_CH_MAX; i++)
        if (strcmp(type, stream_types[i]) == 0)
            return i;
    return -1;
}

strm_chans *strm_spdy_chans_open(spdy_conn *conn, const strm_request *req, const char *protocol, cs_error *err)
{
    spdy_chans *c = cs_xcalloc(1, sizeof *c);
    c->base.ops = &spdy_chans_ops;
    c->base.version = strm_protocol_version(protocol);
    bool want[STRM_CH_MAX] = {
        [STRM_CH_STDIN] = req->stdin_,
        [STRM_CH_STDOUT] = req->stdout_,
        [STRM_CH_STDERR] = req->stderr_ && !req->tty,
        [STRM_CH_ERROR] = true,
        [STRM_CH_RESIZE] = req->tty && c->base.version >= 3,
    };
    int expected = 0, have = 0;
    for (int i = 0; i < STRM_CH_MAX; i++)
        expected += want[i];
    int64_t deadline = cs_time_mono_ms() + STREAM_CREATION_TIMEOUT_MS;
    while (have < expected) {
        int64_t left = deadline - cs_time_mono_ms();
        spdy_stream *st;
        int rc = left > 0 ? spdy_conn_accept(conn, (int)left, &st) : 1;
        if (rc != 0) {
            cs_error_set(err, rc == 1 ? CS_ERR_DEADLINE : CS_ERR_UNAVAILABLE, "%s waiting for the client to "
                         "create its streams (%d of %d)", rc == 1 ? "timed out" : "connection closed", have,
                         expected);
            free(c);
            return NULL;
        }
        int chan = chan_of_type(spdy_stream_header(st, "streamtype"));
        if (chan < 0 || c->st[chan]) {
            spdy_stream_reset(st, SPDY_PROTOCOL_ERROR, NULL);
            spdy_stream_release(st);
            continue;
        }
        spdy_stream_reply(st, NULL);
        c->st[chan] = st;
        have += want[chan];
    }
    if (c->st[STRM_CH_STDIN])
        c->inputs[c->ninputs++] = STRM_CH_STDIN;
    if (c->st[STRM_CH_RESIZE])
        c->inputs[c->ninputs++] = STRM_CH_RESIZE;
    c->conn = conn;
    return &c->base;
}

/* ---- WebSocket: a channel byte in front of every message ---- */

#define WS_CLOSE_CHANNEL 255 /* v5: "the client is done writing channel N" */

typedef struct ws_chans {
    strm_chans base;
    ws_conn *conn;
    bool base64;
    bool enabled[STRM_CH_MAX];
    atomic_bool dead;
} ws_chans;

static int wc_nsources(strm_chans *base)
{
    return 1; /* one socket carries every input channel */
}

static void wc_deliver(ws_chans *c, strm_sink *sink, int opcode, const unsigned char *data, size_t len)
{
    if (len == 0)
        return;
    int chan = data[0];
    const unsigned char *payload = data + 1;
    size_t n = len - 1;
    unsigned char *decoded = NULL;
    if (c->base64) {
        if (opcode != WS_TEXT || chan < '0' || chan > '9')
            return;
        chan -= '0';
        if (cs_base64_decode((const char *)payload, n, &decoded, &n) != 0)
            return;
        payload = decoded;
    }
    if (chan == WS_CLOSE_CHANNEL && c->base.version >= 5) {
        if (n >= 1 && payload[0] == STRM_CH_STDIN && c->enabled[STRM_CH_STDIN])
            sink->stdin_eof(sink);
    } else if (chan == STRM_CH_STDIN && c->enabled[STRM_CH_STDIN]) {
        sink->stdin_data(sink, payload, n);
    } else if (chan == STRM_CH_RESIZE && c->enabled[STRM_CH_RESIZE]) {
        sink->resize_data(sink, payload, n);
    }
    free(decoded);
}

static void wc_input_loop(strm_chans *base, int source, strm_sink *sink)
{
    ws_chans *c = (ws_chans *)base;
    while (!atomic_load(&sink->stop)) {
        int opcode;
        void *data;
        size_t len;
        int rc = ws_recv(c->conn, INPUT_POLL_MS, &opcode, &data, &len, NULL);
        if (rc == 1)
            continue;
        if (rc != 0) {
            atomic_store(&c->dead, true);
            break;
        }
        if (!atomic_load(&sink->stop))
            wc_deliver(c, sink, opcode, data, len);
        free(data);
    }
}

static bool wc_has(strm_chans *base, int chan)
{
    return ((ws_chans *)base)->enabled[chan];
}

static int wc_write(strm_chans *base, int chan, const void *data, size_t len, cs_error *err)
{
    ws_chans *c = (ws_chans *)base;
    int rc;
    if (c->base64) {
        char *b = cs_base64_encode(data, len, false);
        size_t bl = strlen(b);
        char *msg = cs_xmalloc(bl + 1);
        msg[0] = (char)('0' + chan);
        memcpy(msg + 1, b, bl);
        free(b);
        rc = ws_send(c->conn, WS_TEXT, msg, bl + 1, err);
        free(msg);
    } else {
        unsigned char *msg = cs_xmalloc(len + 1);
        msg[0] = (unsigned char)chan;
        memcpy(msg + 1, data, len);
        rc = ws_send(c->conn, WS_BINARY, msg, len + 1, err);
        free(msg);
    }
    if (rc != 0)
        atomic_store(&c->dead, true);
    return rc;
}

static void wc_close_chan(strm_chans *base, int chan)
{
    /* Nothing to say: the end of the session closes the WebSocket. */
}

static bool wc_alive(strm_chans *base)
{
    return !atomic_load(&((ws_chans *)base)->dead);
}

static void wc_free(strm_chans *base)
{
    ws_chans *c = (ws_chans *)base;
    if (!atomic_load(&c->dead))
        ws_send_close(c->conn, 1000, "", NULL);
    ws_conn_free(c->conn);
    free(c);
}

static const strm_chans_ops ws_chans_ops = {
    .nsources = wc_nsources,
    .input_loop = wc_input_loop,
    .has = wc_has,
    .write = wc_write,
    .close_chan = wc_close_chan,
    .alive = wc_alive,
    .free = wc_free,
};

strm_chans *strm_ws_chans_open(ws_conn *conn, const strm_request *req, const char *protocol, cs_error *err)
{
    ws_chans *c = cs_xcalloc(1, sizeof *c);
    c->base.ops = &ws_chans_ops;
    c->base.version = strm_protocol_version(protocol);
    c->base64 = strstr(protocol, "base64.") != NULL;
    c->enabled[STRM_CH_STDIN] = req->stdin_;
    c->enabled[STRM_CH_STDOUT] = req->stdout_;
    c->enabled[STRM_CH_STDERR] = req->stderr_ && !req->tty;
    c->enabled[STRM_CH_ERROR] = true;
    c->enabled[STRM_CH_RESIZE] = req->tty;
    atomic_init(&c->dead, false);
    c->conn = conn;
    /* As kubelet: an empty message on the first channel we write tells the
     * client the connection is up. */
    int first = c->enabled[STRM_CH_STDOUT] ? STRM_CH_STDOUT
                : c->enabled[STRM_CH_STDERR] ? STRM_CH_STDERR : STRM_CH_ERROR;
    if (wc_write(&c->base, first, "", 0, err) != 0) {
        free(c);
        return NULL;
    }
    return &c->base;
}

/* What spdy.c (the connection, its streams and frame writing) and
 * spdy_read.c (the reader thread) share. Not for other modules. */
#ifndef CS_SPDY_INTERNAL_H
#define CS_SPDY_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <zlib.h>

#include "stream/spdy.h"

enum {
    SPDY_VERSION = 3,
    TYPE_SYN_STREAM = 1,
    TYPE_SYN_REPLY = 2,
    TYPE_RST_STREAM = 3,
    TYPE_SETTINGS = 4,
    TYPE_PING = 6,
    TYPE_GOAWAY = 7,
    TYPE_HEADERS = 8,
    TYPE_WINDOW_UPDATE = 9,
    FLAG_FIN = 0x01,
    FLAG_UNIDIRECTIONAL = 0x02,
};

#define IN_BUF_SIZE (64u << 10)
/* A peer that sends PINGs but never reads our echoes can't grow this. */
#define PENDING_MAX (64u << 10)
#define MAX_STREAM_ID 0x7fffffffu

struct spdy_stream {
    spdy_conn *conn;
    uint32_t id;
    bool peer_opened;
    /* NULL-terminated n0, v0, n1, v1, ...: one allocation; set once */
    char **hdrs;
    bool replied;    /* peer-opened: we sent SYN_REPLY; ours: it arrived */
    bool remote_fin; /* no more DATA will come */
    bool local_fin;  /* we may not send DATA */
    bool reset;
    bool released;
    int refs; /* the conn's table, plus the reader while it waits on cond */
    unsigned char *buf;
    size_t off, len, cap;
    pthread_cond_t cond; /* data, space, reply, reset, death: all broadcast */
};

struct spdy_conn {
    int fd;
    bool server;
    pthread_t reader;
    bool reader_started;

    pthread_mutex_t lock; /* guards everything below down to the reader part */
    pthread_cond_t cond;  /* accept queue, ping echoes, death */
    bool dead;            /* bad input or a failed write: nothing more either way */
    bool eof;             /* the peer closed its side: nothing more to read */
    bool shut;            /* spdy_conn_shutdown was called */
    bool goaway_in;       /* the peer will open no more streams */
    spdy_stream **streams;
    size_t nstreams;
    spdy_stream **acceptq;
    size_t naccept;
    uint32_t last_peer_id;
    uint32_t last_local_id;
    uint32_t ping_seen; /* highest echo of our own PING ids */
    unsigned char *pending;
    size_t pending_len;

    /* reader thread only */
    unsigned char *in;
    size_t in_off, in_len, in_cap;
    unsigned char *ctl;
    size_t ctl_cap;
    z_stream inz;
    const char *why; /* why the reader stopped, for the log */
    bool why_error;  /* recv failed (as opposed to EOF) */
    bool clean_eof;  /* EOF between frames */

    pthread_mutex_t wlock; /* frame writes, outz, next_id, next_ping */
    z_stream outz;
    uint32_t next_id;
    uint32_t next_ping;
};

/* spdy.c, for the reader */
void spdy_i_ctl_header(unsigned char *p, uint16_t type, uint8_t flags, uint32_t len);
/* under c->lock */
spdy_stream *spdy_i_stream_new(spdy_conn *c, uint32_t id, bool peer_opened);
spdy_stream *spdy_i_stream_find(spdy_conn *c, uint32_t id);
void spdy_i_stream_unref(spdy_stream *s);
bool spdy_i_stream_wants_data(const spdy_stream *s);
void spdy_i_wake_all(spdy_conn *c);
/* the write side: ends the connection; sends the reader's queued frames */
void spdy_i_conn_kill(spdy_conn *c, const char *why);
void spdy_i_pending_kick(spdy_conn *c);

/* spdy_read.c: the reader thread's body (arg: the conn) */
void *spdy_i_reader_main(void *arg);

#endif

/* Exec and attach over the streaming server: Kubernetes' remotecommand
 * protocol on any strm_chans transport. */
#ifndef CS_STREAM_REMOTECOMMAND_H
#define CS_STREAM_REMOTECOMMAND_H

#include "backend/backend.h"
#include "stream/chans.h"
#include "stream/tokens.h"

/* Runs one session to its end: opens the process's stdio on the engine,
 * pumps both ways, reports the outcome on the error channel. The caller
 * still owns (and frees) ch and req. */
void strm_remotecommand(strm_chans *ch, const strm_request *req, cs_backend *b);

/* The Kubernetes Status object the error channel carries (malloc'd JSON).
 * exit_code < 0 with msg NULL: Success; exit_code > 0: NonZeroExitCode;
 * msg: an InternalError. */
char *strm_status_json(int exit_code, const char *msg);

#endif

/* crishim.v1.Diagnostics: a bidi echo that exercises the streaming machinery
 * (and measures it) without an engine. */
#include "cri/internal.h"

int cri_diag_echo(cs_call *call, cs_error *err)
{
    cs_arena *scratch = cs_arena_new(); /* reset per message: a long stream stays small */
    int rc = 0;
    for (;;) {
        ProtobufCMessage *m;
        cs_arena_reset(scratch);
        if ((rc = cs_call_recv(call, &crishim__v1__echo_message__descriptor, scratch, &m, err)) != 0)
            break;
        if (!m)
            break; /* client half-closed: end with OK */
        if ((rc = cs_call_send(call, m, err)) != 0)
            break;
    }
    cs_arena_free(scratch);
    return rc;
}

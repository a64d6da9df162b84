/* Exec, Attach and PortForward: validate, check the target is there and
 * running, and hand back a one-time URL on crishim's streaming server (the
 * stream itself is served by src/stream/). */
#include <stdlib.h>
#include <string.h>

#include "cri/convert.h"
#include "cri/internal.h"
#include "stream/server.h"
#include "util/mem.h"

static int require_running(cs_call *call, const char *id, const char **full, cs_error *err)
{
    cri_runtime *rt = CRI_RT(call);
    cs_container *c;
    if (cs_backend_container_status(rt->backend, cs_call_ctx(call), id, false, cs_call_arena(call), &c,
                                           err) != 0)
        return -1;
    if (c->state != CS_CONTAINER_RUNNING)
        return cs_error_set(err, CS_ERR_CONFLICT, "container %s is not running", id);
    *full = c->id;
    return 0;
}

static int check_stdio(bool in, bool out, bool errs, bool tty, cs_error *err)
{
    if (!in && !out && !errs)
        return cs_error_set(err, CS_ERR_INVALID, "one of stdin, stdout, or stderr must be set");
    if (tty && errs)
        return cs_error_set(err, CS_ERR_INVALID, "tty and stderr cannot both be true");
    return 0;
}

/* Stores req and answers with its URL. */
static int register_url(cs_call *call, strm_request *req, char **url, cs_error *err)
{
    cri_runtime *rt = CRI_RT(call);
    if (!rt->streaming) {
        strm_request_free(req);
        return cs_error_set(err, CS_ERR_UNAVAILABLE, "the streaming server is not running");
    }
    char *u;
    if (strm_server_register(rt->streaming, req, &u, err) != 0)
        return -1;
    *url = cs_arena_strdup(cs_call_arena(call), u);
    free(u);
    return 0;
}

static strm_request *new_request(strm_kind kind, const char *id, bool in, bool out, bool errs, bool tty)
{
    strm_request *r = cs_xcalloc(1, sizeof *r);
    r->kind = kind;
    r->id = cs_xstrdup(id);
    r->stdin_ = in;
    r->stdout_ = out;
    r->stderr_ = errs;
    r->tty = tty;
    return r;
}

int cri_exec(cs_call *call, const ProtobufCMessage *reqm, ProtobufCMessage **resp, cs_error *err)
{
    const Runtime__V1__ExecRequest *req = (const Runtime__V1__ExecRequest *)reqm;
    if (cri_require(req->container_id, "container_id", err) != 0)
        return -1;
    if (req->n_cmd == 0 || !req->cmd[0] || !*req->cmd[0])
        return cs_error_set(err, CS_ERR_INVALID, "cmd is required");
    if (check_stdio(req->stdin, req->stdout, req->stderr, req->tty, err) != 0)
        return -1;
    CRI_NEED_OP(call, exec_open, err);
    const char *full;
    if (require_running(call, req->container_id, &full, err) != 0)
        return -1;
    strm_request *r = new_request(STRM_EXEC, full, req->stdin, req->stdout, req->stderr, req->tty);
    r->cmd = cs_xcalloc(req->n_cmd + 1, sizeof *r->cmd);
    for (size_t i = 0; i < req->n_cmd; i++)
        r->cmd[i] = cs_xstrdup(req->cmd[i] ? req->cmd[i] : "");
    r->ncmd = req->n_cmd;
    Runtime__V1__ExecResponse *out = CRI_NEW(call, Runtime__V1__ExecResponse, RUNTIME__V1__EXEC_RESPONSE__INIT);
    if (register_url(call, r, &out->url, err) != 0)
        return -1;
    *resp = &out->base;
    return 0;
}

int cri_attach(cs_call *call, const ProtobufCMessage *reqm, ProtobufCMessage **resp, cs_error *err)
{
    const Runtime__V1__AttachRequest *req = (const Runtime__V1__AttachRequest *)reqm;
    if (cri_require(req->container_id, "container_id", err) != 0)
        return -1;
    if (check_stdio(req->stdin, req->stdout, req->stderr, req->tty, err) != 0)
        return -1;
    CRI_NEED_OP(call, attach_open, err);
    const char *full;
    if (require_running(call, req->container_id, &full, err) != 0)
        return -1;
    strm_request *r = new_request(STRM_ATTACH, full, req->stdin, req->stdout, req->stderr, req->tty);
    Runtime__V1__AttachResponse *out =
        CRI_NEW(call, Runtime__V1__AttachResponse, RUNTIME__V1__ATTACH_RESPONSE__INIT);
    if (register_url(call, r, &out->url, err) != 0)
        return -1;
    *resp = &out->base;
    return 0;
}

int cri_port_forward(cs_call *call, const ProtobufCMessage *reqm, ProtobufCMessage **resp, cs_error *err)
{
    const Runtime__V1__PortForwardRequest *req = (const Runtime__V1__PortForwardRequest *)reqm;
    cri_runtime *rt = CRI_RT(call);
    if (cri_require(req->pod_sandbox_id, "pod_sandbox_id", err) != 0)
        return -1;
    for (size_t i = 0; i < req->n_port; i++)
        if (req->port[i] <= 0 || req->port[i] > 65535)
            return cs_error_set(err, CS_ERR_INVALID, "port[%zu] = %d: want 1 to 65535", i, req->port[i]);
    CRI_NEED_OP(call, sandbox_netns, err);
    cs_sandbox *sb;
    if (cs_backend_sandbox_status(rt->backend, cs_call_ctx(call), req->pod_sandbox_id, false,
                                         cs_call_arena(call), &sb, err) != 0)
        return -1;
    if (sb->state != CS_SANDBOX_READY) /* the session finds its namespace when it connects */
        return cs_error_set(err, CS_ERR_CONFLICT, "sandbox %s is not ready", req->pod_sandbox_id);
    strm_request *r = new_request(STRM_PORTFORWARD, sb->id, false, false, false, false);
    if (req->n_port) {
        r->ports = cs_xcalloc(req->n_port, sizeof *r->ports);
        for (size_t i = 0; i < req->n_port; i++)
            r->ports[i] = (uint16_t)req->port[i];
        r->nports = req->n_port;
    }
    Runtime__V1__PortForwardResponse *out =
        CRI_NEW(call, Runtime__V1__PortForwardResponse, RUNTIME__V1__PORT_FORWARD_RESPONSE__INIT);
    if (register_url(call, r, &out->url, err) != 0)
        return -1;
    *resp = &out->base;
    return 0;
}

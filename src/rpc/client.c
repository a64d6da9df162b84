/* The one-shot unary client; see client.h. */
#include "rpc/client.h"

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/listen.h"
#include "util/mem.h"

static int call_once(grpc_channel *ch, grpc_completion_queue *cq, const char *method, const ProtobufCMessage *req,
                     const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp, int timeout_ms,
                     cs_error *err)
{
    gpr_timespec deadline = gpr_time_add(gpr_now(GPR_CLOCK_REALTIME), gpr_time_from_millis(timeout_ms, GPR_TIMESPAN));
    grpc_slice mslice = grpc_slice_from_copied_string(method);
    grpc_call *call = grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq, mslice, NULL, deadline, NULL);
    grpc_slice_unref(mslice);

    size_t len = protobuf_c_message_get_packed_size(req);
    grpc_slice payload = grpc_slice_malloc(len);
    protobuf_c_message_pack(req, GRPC_SLICE_START_PTR(payload));
    grpc_byte_buffer *send = grpc_raw_byte_buffer_create(&payload, 1);
    grpc_slice_unref(payload);

    grpc_metadata_array initial, trailing;
    grpc_metadata_array_init(&initial);
    grpc_metadata_array_init(&trailing);
    grpc_byte_buffer *recv = NULL;
    grpc_status_code status = GRPC_STATUS_UNKNOWN;
    grpc_slice details = grpc_empty_slice();
    grpc_op ops[6];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = send;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &initial;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &recv;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.status = &status;
    ops[5].data.recv_status_on_client.status_details = &details;
    ops[5].data.recv_status_on_client.trailing_metadata = &trailing;
    int rc = 0;
    if (grpc_call_start_batch(call, ops, 6, (void *)1, NULL) != GRPC_CALL_OK) {
        rc = cs_error_set(err, CS_ERR_INTERNAL, "%s: cannot start the call", method);
    } else {
        grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        if (status != GRPC_STATUS_OK) {
            char *d = grpc_slice_to_c_string(details);
            rc = cs_error_set(err, (cs_code)status, "%s: %s", method, d);
            gpr_free(d);
        } else if (!recv) {
            rc = cs_error_set(err, CS_ERR_INTERNAL, "%s: no response message", method);
        } else {
            grpc_byte_buffer_reader r;
            grpc_byte_buffer_reader_init(&r, recv);
            grpc_slice all = grpc_byte_buffer_reader_readall(&r);
            grpc_byte_buffer_reader_destroy(&r);
            *resp = protobuf_c_message_unpack(resp_desc, NULL, GRPC_SLICE_LENGTH(all), GRPC_SLICE_START_PTR(all));
            grpc_slice_unref(all);
            if (!*resp)
                rc = cs_error_set(err, CS_ERR_INTERNAL, "%s: response does not decode", method);
        }
    }
    if (recv)
        grpc_byte_buffer_destroy(recv);
    grpc_byte_buffer_destroy(send);
    grpc_slice_unref(details);
    grpc_metadata_array_destroy(&initial);
    grpc_metadata_array_destroy(&trailing);
    grpc_call_unref(call);
    return rc;
}

int cs_rpc_unary(const char *target, const char *method, const ProtobufCMessage *req,
                 const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp, int timeout_ms, cs_error *err)
{
    return cs_rpc_unary_creds(target, NULL, method, req, resp_desc, resp, timeout_ms, err);
}

int cs_rpc_unary_creds(const char *target, grpc_channel_credentials *creds, const char *method,
                       const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
                       ProtobufCMessage **resp, int timeout_ms, cs_error *err)
{
    cs_listen_addr la;
    *resp = NULL;
    if (cs_listen_parse(target, &la, err) != 0)
        return -1;
    char *addr = la.is_unix ? cs_xasprintf("unix:%s", la.path) : cs_xstrdup(la.hostport);
    grpc_init();
    grpc_channel_credentials *plain = creds ? NULL : grpc_insecure_credentials_create();
    /* A fresh connection per call: a test of certificates must not reuse a
     * channel another test's handshake made. */
    grpc_arg arg = {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, .value.integer = 1};
    grpc_channel_args args = {.num_args = 1, .args = &arg};
    grpc_channel *ch = grpc_channel_create(addr, creds ? creds : plain, &args);
    if (plain)
        grpc_channel_credentials_release(plain);
    grpc_completion_queue *cq = grpc_completion_queue_create_for_next(NULL);
    int rc = call_once(ch, cq, method, req, resp_desc, resp, timeout_ms, err);
    grpc_channel_destroy(ch);
    grpc_completion_queue_shutdown(cq);
    while (grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type != GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(cq);
    grpc_shutdown();
    free(addr);
    return rc;
}

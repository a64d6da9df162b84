/* Conversions between CRI messages and backend-neutral types. Results point
 * into the request or the arena; nothing here is freed by hand. */
#ifndef CS_CRI_CONVERT_H
#define CS_CRI_CONVERT_H

#include <stdlib.h>

#include "backend/backend.h"
#include "runtime/v1/api.pb-c.h"

/* map<string,string> fields (any of the generated entry types). */
cs_kvs cri_kvs_from_map(void *const *entries, size_t n, cs_arena *a);
void **cri_map_from_kvs(const cs_kvs *kvs, const ProtobufCMessageDescriptor *entry_desc, cs_arena *a, size_t *n);
#define CRI_MAP_IN(obj, field, a) cri_kvs_from_map((void *const *)(obj)->field, (obj)->n_##field, a)

cs_strs cri_strs(char *const *items, size_t n);
char **cri_strv(const cs_strs *s, cs_arena *a);

int cri_sandbox_security(const Runtime__V1__LinuxSandboxSecurityContext *sc, cs_arena *a, cs_security *out,
                         cs_error *err);
int cri_container_security(const Runtime__V1__LinuxContainerSecurityContext *sc, cs_arena *a, cs_security *out,
                           cs_error *err);
void cri_resources_in(const Runtime__V1__LinuxContainerResources *r, cs_arena *a, cs_resources *out);
Runtime__V1__LinuxContainerResources *cri_resources_out(const cs_resources *r, cs_arena *a);
Runtime__V1__NamespaceOption *cri_ns_options(cs_ns_mode net, cs_ns_mode pid, cs_ns_mode ipc, cs_arena *a);

/* INVALID_ARGUMENT "<field> is required" for NULL or "". */
int cri_require(const char *value, const char *field, cs_error *err);
/* A pod hostname the kernel and Kubernetes accept: empty, or at most 64
 * bytes of dot-separated RFC 1123 labels. */
int cri_check_hostname(const char *h, const char *field, cs_error *err);
/* A relative path without "..": log paths must stay in the pod's directory. */
int cri_check_relative_path(const char *p, const char *field, cs_error *err);

#endif

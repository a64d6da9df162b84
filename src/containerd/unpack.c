/* Unpacking an image's layers into snapshots, as containerd's own unpacker
 * does: per layer, by chain id, Snapshots.Prepare on the parent, Diff.Apply
 * of the layer blob onto those mounts (containerd mounts and untars), a check
 * that what was applied is the config's diff id, and Snapshots.Commit under
 * the chain id. A chain id that exists already is skipped, so images sharing
 * layers share snapshots. Everything runs under the caller's lease. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "containerd/api/services/diff/v1/diff.pb-c.h"
#include "containerd/api/services/snapshots/v1/snapshots.pb-c.h"
#include "containerd/content.h"
#include "containerd/unpack.h"
#include "google/protobuf/empty.pb-c.h"
#include "util/log.h"
#include "util/time.h"

#define SNAPSHOTS(m) "/containerd.services.snapshots.v1.Snapshots/" m
#define DIFF(m) "/containerd.services.diff.v1.Diff/" m
#define LABEL_SNAPSHOT_REF "containerd.io/snapshot.ref"

int ctrd_snapshot_exists(ctrd_backend *d, const cs_ctx *ctx, const char *key, cs_arena *a, bool *exists,
                         cs_error *err)
{
    Containerd__Services__Snapshots__V1__StatSnapshotRequest req =
        CONTAINERD__SERVICES__SNAPSHOTS__V1__STAT_SNAPSHOT_REQUEST__INIT;
    req.snapshotter = d->snapshotter;
    req.key = (char *)key;
    ProtobufCMessage *r;
    cs_error e;
    *exists = false;
    if (ctrd_unary(d->client, ctx, SNAPSHOTS("Stat"), &req.base,
                   &containerd__services__snapshots__v1__stat_snapshot_response__descriptor, NULL, a, &r, &e) == 0) {
        *exists = true;
        return 0;
    }
    if (e.code == CS_ERR_NOT_FOUND)
        return 0;
    if (err)
        *err = e;
    return -1;
}

static void remove_snapshot(ctrd_backend *d, const char *lease, const char *key, cs_arena *a)
{
    Containerd__Services__Snapshots__V1__RemoveSnapshotRequest req =
        CONTAINERD__SERVICES__SNAPSHOTS__V1__REMOVE_SNAPSHOT_REQUEST__INIT;
    req.snapshotter = d->snapshotter;
    req.key = (char *)key;
    ProtobufCMessage *r;
    cs_ctx ctx = {.deadline_ms = cs_time_mono_ms() + 30000};
    ctrd_unary(d->client, &ctx, SNAPSHOTS("Remove"), &req.base, &google__protobuf__empty__descriptor, lease, a, &r,
               NULL);
}

static int apply_layer(ctrd_backend *d, const cs_ctx *ctx, const char *lease, const ctrd_layer *l,
                       const char *parent, const char *chain, cs_arena *a, cs_error *err)
{
    char *key = cs_arena_printf(a, "extract-%lld-%d %s", (long long)cs_time_now_ns(), rand() % 1000000, chain);
    cs_kv kv[] = {{LABEL_SNAPSHOT_REF, chain}};

    Containerd__Services__Snapshots__V1__PrepareSnapshotRequest prep =
        CONTAINERD__SERVICES__SNAPSHOTS__V1__PREPARE_SNAPSHOT_REQUEST__INIT;
    prep.snapshotter = d->snapshotter;
    prep.key = key;
    prep.parent = (char *)(parent ? parent : "");
    prep.n_labels = 1;
    prep.labels = (Containerd__Services__Snapshots__V1__PrepareSnapshotRequest__LabelsEntry **)ctrd_map_entries(
        a, &containerd__services__snapshots__v1__prepare_snapshot_request__labels_entry__descriptor, kv, 1);
    Containerd__Services__Snapshots__V1__PrepareSnapshotResponse *pr;
    if (ctrd_unary(d->client, ctx, SNAPSHOTS("Prepare"), &prep.base,
                   &containerd__services__snapshots__v1__prepare_snapshot_response__descriptor, lease, a,
                   (ProtobufCMessage **)&pr, err) != 0) {
        /* The snapshot.ref label makes containerd refuse when the target
         * chain exists: another unpacker committed it since our Stat. */
        bool there = false;
        if (err && err->code == CS_ERR_EXISTS && ctrd_snapshot_exists(d, ctx, chain, a, &there, NULL) == 0 && there)
            return 0;
        return cs_error_wrap(err, "prepare snapshot for layer %s", l->digest);
    }

    Containerd__Types__Descriptor desc = CONTAINERD__TYPES__DESCRIPTOR__INIT;
    desc.media_type = (char *)l->media_type;
    desc.digest = (char *)l->digest;
    desc.size = l->size;
    Containerd__Services__Diff__V1__ApplyRequest ap = CONTAINERD__SERVICES__DIFF__V1__APPLY_REQUEST__INIT;
    ap.diff = &desc;
    ap.n_mounts = pr->n_mounts;
    ap.mounts = pr->mounts;
    Containerd__Services__Diff__V1__ApplyResponse *ar;
    if (ctrd_unary(d->client, ctx, DIFF("Apply"), &ap.base, &containerd__services__diff__v1__apply_response__descriptor,
                   lease, a, (ProtobufCMessage **)&ar, err) != 0) {
        remove_snapshot(d, lease, key, a);
        return cs_error_wrap(err, "apply layer %s", l->digest);
    }
    if (!ar->applied || !ar->applied->digest || strcmp(ar->applied->digest, l->diff_id) != 0) {
        remove_snapshot(d, lease, key, a);
        return cs_error_set(err, CS_ERR_DATA_LOSS, "layer %s unpacked to %s, but the image config says %s",
                            l->digest, ar->applied && ar->applied->digest ? ar->applied->digest : "nothing",
                            l->diff_id);
    }

    Containerd__Services__Snapshots__V1__CommitSnapshotRequest cm =
        CONTAINERD__SERVICES__SNAPSHOTS__V1__COMMIT_SNAPSHOT_REQUEST__INIT;
    cm.snapshotter = d->snapshotter;
    cm.name = (char *)chain;
    cm.key = key;
    cm.n_labels = 1;
    cm.labels = (Containerd__Services__Snapshots__V1__CommitSnapshotRequest__LabelsEntry **)ctrd_map_entries(
        a, &containerd__services__snapshots__v1__commit_snapshot_request__labels_entry__descriptor, kv, 1);
    ProtobufCMessage *r;
    cs_error e;
    if (ctrd_unary(d->client, ctx, SNAPSHOTS("Commit"), &cm.base, &google__protobuf__empty__descriptor, lease, a, &r,
                   &e) != 0) {
        remove_snapshot(d, lease, key, a);
        /* Another unpacker committed the same chain first: the layer is there. */
        if (e.code == CS_ERR_EXISTS)
            return 0;
        if (err)
            *err = e;
        return cs_error_wrap(err, "commit snapshot %s", chain);
    }
    return 0;
}

int ctrd_unpack(ctrd_backend *d, const cs_ctx *ctx, const char *lease, const ctrd_layer *layers, size_t n,
                cs_arena *a, cs_error *err)
{
    for (size_t i = 0; i < n; i++) {
        bool exists;
        if (ctrd_snapshot_exists(d, ctx, layers[i].chain_id, a, &exists, err) != 0)
            return cs_error_wrap(err, "unpack");
        if (exists)
            continue;
        if (apply_layer(d, ctx, lease, &layers[i], i ? layers[i - 1].chain_id : NULL, layers[i].chain_id, a, err) !=
            0)
            return cs_error_wrap(err, "unpack");
    }
    return 0;
}

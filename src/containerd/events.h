/* The containerd backend's one event feed (events.c): an Events.Subscribe
 * stream for crishim's namespace that invalidates the image cache, runs the
 * exit hooks and publishes CRI container events to d->hub, plus what it
 * learns about each of crishim's objects on the way (kind, sandbox, the
 * running task's pid, an OOM kill, the stats facts that never change), so
 * neither the feed nor stats asks containerd again per event or per call. */
#ifndef CS_CTRD_EVENTS_H
#define CS_CTRD_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

#include "containerd/internal.h"

/* Makes d->hub and starts the feed's thread (it reconnects by itself). */
void ctrd_events_start(ctrd_backend *d);
/* Ends the thread, then frees the hub and what the feed knows. */
void ctrd_events_stop(ctrd_backend *d);
/* The `events` op. */
cs_event_hub *ctrd_events(cs_backend *b);

/* True when /tasks/oom was seen for container id's current task (cleared
 * when a task of that id starts or the record goes). The container's exit
 * hook asks this when it records the exit. */
bool ctrd_events_oom(ctrd_backend *d, const char *id);

/* The running init process's pid as the feed knows it: true with *pid (0:
 * no task running) while the subscription is up and the feed has seen this
 * object's task since it (re)connected; false: ask containerd. */
bool ctrd_events_pid(ctrd_backend *d, const char *id, uint32_t *pid);

/* The facts of an object that never change once it exists, kept for stats
 * (stats.c fills them on first use; they go with the record's deletion). */
typedef struct ctrd_static_facts {
    const char *writable;    /* the snapshot's upper dir; NULL: none */
    const char *writable_fs; /* the filesystem it is on, as ImageFsInfo names it */
    const char *cgroup;      /* the cgroup as /proc/<pid>/cgroup lines; NULL: read /proc */
    int64_t started_ns;
} ctrd_static_facts;
/* true with *out (strings in arena a) when known. */
bool ctrd_events_static_get(ctrd_backend *d, const char *id, cs_arena *a, ctrd_static_facts *out);
/* Remembers them for id while the record exists (copied). */
void ctrd_events_static_put(ctrd_backend *d, const char *id, const ctrd_static_facts *f);

#endif

/* One pod's lifecycle through any CRI endpoint, each step timed: what the
 * step benchmarks send to crishim, to Docker's floor and to containerd's own
 * CRI plugin alike, so every side gets the very same requests. */
#ifndef CS_BENCH_CRISTEPS_H
#define CS_BENCH_CRISTEPS_H

#include "client.h"
#include "samples.h"

enum { S_RUN, S_CREATE, S_START, S_STOP, S_REMOVE, S_STOP_POD, S_REMOVE_POD, NSTEPS };
extern const char *const cri_step_names[NSTEPS];

/* Called (untimed) once the sandbox (step S_RUN) and the container
 * (S_CREATE) exist, with their ids. */
typedef void (*cri_step_hook)(void *arg, int step, const char *id);

/* RunPodSandbox (pod "step<n>", namespace "bench", hostname set) →
 * CreateContainer (image, "sleep 3600", kubelet's masked and read-only paths) → StartContainer → StopContainer →
 * RemoveContainer → StopPodSandbox → RemovePodSandbox; step k's latency goes
 * to s[k]. Exits the program when a call fails. */
void cri_steps(tc_client *c, const char *image, int n, samples s[NSTEPS], cri_step_hook hook, void *arg);

/* The steps' table rows: "| step | a p50 | p99 | b p50 | p99 | ratio |" plus
 * what each row's `extra` says (NULL: nothing). */
void cri_steps_print(const samples a[NSTEPS], const samples b[NSTEPS], const char *const extra[NSTEPS]);

#endif

// Feasibility filters. Each returns the reason a person reads in `0/3 workers fit: ...`.
// Hot path: no allocation, no date parsing per worker.
import { heartbeatTtlFor } from '../heartbeat.js';
import type { TaskSpec, WorkerRecord } from '../types.js';
import { constraintsMatch, unmetConstraint } from './constraints.js';
import { hostPortsFree, takenPort } from './ports.js';
import type { FilterPlugin, PlacementContext } from './types.js';

export const REASON_NOT_READY = 'not ready';
export const REASON_CORDONED = 'cordoned';
export const REASON_ENGINE = 'engine not answering';
export const REASON_CPU = 'insufficient cpu';
export const REASON_MEMORY = 'insufficient memory';
export const REASON_DISK = 'insufficient disk';

// `toISOString()` strings (`2026-05-01T10:00:00.000Z`) sort like the instants they name,
// so the freshness test is one string comparison against a cutoff computed once per
// (now, ttl) rather than a Date.parse per worker. Other ISO spellings fall back to parsing.
// Memo key: the Date object itself (a context is immutable during a placement; a caller
// that moves time on gives a new Date) and the ttl.
let memoNow: Date | undefined;
let memoTtlMs = Number.NaN;
let memoCutoffCanonical = false;
let memoCutoffMs = Number.NaN;
let memoCutoffIso = '';

/** `YYYY-MM-DDTHH:mm:ss.sssZ`, checked by shape only (cheap enough for the hot loop). */
function isCanonicalIso(s: string): boolean {
  return (
    s.length === 24 &&
    s.charCodeAt(23) === 90 && // Z
    s.charCodeAt(10) === 84 && // T
    s.charCodeAt(19) === 46 && // .
    s.charCodeAt(4) === 45 // -
  );
}

function refreshCutoff(ctx: PlacementContext): void {
  memoNow = ctx.now;
  memoTtlMs = ctx.heartbeatTtlMs;
  memoCutoffMs = ctx.now.getTime() - ctx.heartbeatTtlMs;
  const cutoff = new Date(memoCutoffMs);
  memoCutoffIso = Number.isNaN(cutoff.getTime()) ? '' : cutoff.toISOString();
  memoCutoffCanonical = isCanonicalIso(memoCutoffIso);
}

/**
 * True when `heartbeatAt` is no older than `ctx.heartbeatTtlMs`, or than 2.5 intervals the
 * worker declared when longer (an idle worker beats rarely); future stamps count as fresh.
 */
export function isHeartbeatFresh(
  heartbeatAt: string,
  ctx: PlacementContext,
  declaredIntervalMs?: number,
): boolean {
  const ttl = heartbeatTtlFor(ctx.heartbeatTtlMs, declaredIntervalMs);
  if (ttl !== ctx.heartbeatTtlMs) {
    const at = Date.parse(heartbeatAt);
    return !Number.isNaN(at) && at >= ctx.now.getTime() - ttl;
  }
  if (ctx.now !== memoNow || ctx.heartbeatTtlMs !== memoTtlMs) refreshCutoff(ctx);
  if (memoCutoffCanonical && isCanonicalIso(heartbeatAt)) return heartbeatAt >= memoCutoffIso;
  const at = Date.parse(heartbeatAt);
  return !Number.isNaN(at) && at >= memoCutoffMs;
}

/** READY and heartbeating within the ttl. */
export const workerReady: FilterPlugin = {
  name: 'worker-ready',
  filter(_task: TaskSpec, worker: WorkerRecord, ctx: PlacementContext) {
    if (worker.state !== 'READY') return REASON_NOT_READY;
    return isHeartbeatFresh(worker.heartbeatAt, ctx, worker.heartbeatIntervalMs)
      ? undefined
      : REASON_NOT_READY;
  },
};

/**
 * A worker whose engine did not answer its last heartbeat's ping would claim the task and hang
 * on the start: a hung dockerd must not swallow work. A worker that says nothing (an older
 * version) is taken as answering.
 */
export const engineAnswering: FilterPlugin = {
  name: 'engine-answering',
  filter(_task: TaskSpec, worker: WorkerRecord) {
    return worker.engine?.answering === false ? REASON_ENGINE : undefined;
  },
};

/** A cordoned worker keeps its tasks but takes no new ones. */
export const notCordoned: FilterPlugin = {
  name: 'not-cordoned',
  filter(_task: TaskSpec, worker: WorkerRecord) {
    return worker.cordoned ? REASON_CORDONED : undefined;
  },
};

/**
 * capacity − allocated ≥ demand on cpu, memory and disk, in integers. As in Kubernetes'
 * NodeResourcesFit, a zero demand never fails a dimension, even on an overcommitted worker.
 */
export const resourcesFit: FilterPlugin = {
  name: 'resources-fit',
  filter(task: TaskSpec, worker: WorkerRecord) {
    const want = task.resources;
    const cap = worker.capacity;
    const used = worker.allocated;
    if (want.memoryBytes > 0 && used.memoryBytes + want.memoryBytes > cap.memoryBytes) {
      return REASON_MEMORY;
    }
    if (want.cpuMillis > 0 && used.cpuMillis + want.cpuMillis > cap.cpuMillis) return REASON_CPU;
    if (want.diskBytes > 0 && used.diskBytes + want.diskBytes > cap.diskBytes) return REASON_DISK;
    return undefined;
  },
};

/**
 * Order matters: a worker is counted under the first filter that rejects it. Constraints
 * come before resources: a worker outside the asked-for zone is no candidate whatever room
 * it has, and `constraint zone=b` tells the user more than `insufficient memory` there.
 */
export const DEFAULT_FILTERS: readonly FilterPlugin[] = [
  workerReady,
  engineAnswering,
  notCordoned,
  constraintsMatch,
  resourcesFit,
  hostPortsFree,
];

/**
 * The default filters as one monomorphic call, same reasons, same order. The policy
 * compiler swaps it in wherever the sequence of DEFAULT_FILTERS appears.
 */
export const defaultFeasibility: FilterPlugin = {
  name: 'default-feasibility',
  filter(task: TaskSpec, worker: WorkerRecord, ctx: PlacementContext) {
    if (
      worker.state !== 'READY' ||
      !isHeartbeatFresh(worker.heartbeatAt, ctx, worker.heartbeatIntervalMs)
    ) {
      return REASON_NOT_READY;
    }
    if (worker.engine?.answering === false) return REASON_ENGINE;
    if (worker.cordoned) return REASON_CORDONED;
    if (task.constraints !== undefined && task.constraints.length > 0) {
      const unmet = unmetConstraint(task, worker);
      if (unmet !== undefined) return unmet;
    }
    const want = task.resources;
    const cap = worker.capacity;
    const used = worker.allocated;
    if (want.memoryBytes > 0 && used.memoryBytes + want.memoryBytes > cap.memoryBytes) {
      return REASON_MEMORY;
    }
    if (want.cpuMillis > 0 && used.cpuMillis + want.cpuMillis > cap.cpuMillis) return REASON_CPU;
    if (want.diskBytes > 0 && used.diskBytes + want.diskBytes > cap.diskBytes) return REASON_DISK;
    return task.ports.length === 0 ? undefined : takenPort(task, worker);
  },
};

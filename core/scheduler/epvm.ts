// E-PVM (Amir et al., 2000): place the task where it adds the least opportunity cost. The
// cost of a resource at utilisation u is L^u, so the marginal cost of the task is
//   sum over r in {cpu, memory} of  L^((load_r + demand_r) / cap_r) − L^(load_r / cap_r)
// The book's version cancels its cpu term down to a function of the task count; here the
// task's own cpu demand is part of the cpu term, as the paper means.
//
// Load. `epvm` uses reservations (`allocated`): they are exact, move in the same write as a
// placement, and so see the placements of a burst that metrics (one heartbeat late) would
// miss — scoring on stale metrics herds a burst onto one worker. `epvm-live` takes per
// resource the larger of the reservation and the measured use in the last heartbeat
// (cpuUsage × cores, memTotal − memAvailable), to steer away from hosts busy with work
// Cube does not know about.
import type { TaskSpec, WorkerRecord } from '../types.js';
import type { PlacementContext, ScorePlugin } from './types.js';

// 1.53960071783900203869 as the paper and the book give it, to double precision.
export const EPVM_L = 1.539600717839002;
const LN_L = Math.log(EPVM_L);

/** Largest cost a placement that fits can add: each of the two terms is at most L^1 − L^0. */
export const EPVM_MAX_COST = 2 * (EPVM_L - 1);

/**
 * L^((load+demand)/cap) − L^(load/cap), computed as L^u·(L^δ − 1) with expm1 so that tiny
 * tasks on large workers do not lose their cost to cancellation.
 */
export function epvmMarginalCost(load: number, demand: number, capacity: number): number {
  if (capacity <= 0 || demand <= 0) return 0;
  return Math.exp((load / capacity) * LN_L) * Math.expm1((demand / capacity) * LN_L);
}

/**
 * Lower cost → higher score: 100 at no cost, 0 at the largest cost a fitting task can add.
 * Absolute rather than relative to the other candidates, so a score means the same thing in
 * every placement (small tasks therefore score in the 90s; the ranking is what matters).
 */
export function epvmCostToScore(cost: number): number {
  const score = 100 * (1 - cost / EPVM_MAX_COST);
  return Math.min(100, Math.max(0, score));
}

// Hot path: workers mostly share a few capacities, so (L^δ − 1) is memoised on the last
// (demand, capacity) seen, once for cpu and once for memory; only L^u is computed per worker.
let cpuDemand = -1;
let cpuCap = -1;
let cpuStep = 0;
let memDemand = -1;
let memCap = -1;
let memStep = 0;

function cpuCost(load: number, demand: number, capacity: number): number {
  if (capacity <= 0 || demand <= 0) return 0;
  if (demand !== cpuDemand || capacity !== cpuCap) {
    cpuDemand = demand;
    cpuCap = capacity;
    cpuStep = Math.expm1((demand / capacity) * LN_L);
  }
  return Math.exp((load / capacity) * LN_L) * cpuStep;
}

function memCost(load: number, demand: number, capacity: number): number {
  if (capacity <= 0 || demand <= 0) return 0;
  if (demand !== memDemand || capacity !== memCap) {
    memDemand = demand;
    memCap = capacity;
    memStep = Math.expm1((demand / capacity) * LN_L);
  }
  return Math.exp((load / capacity) * LN_L) * memStep;
}

function reservedCost(task: TaskSpec, worker: WorkerRecord): number {
  const want = task.resources;
  const cap = worker.capacity;
  const used = worker.allocated;
  return (
    cpuCost(used.cpuMillis, want.cpuMillis, cap.cpuMillis) +
    memCost(used.memoryBytes, want.memoryBytes, cap.memoryBytes)
  );
}

function liveCost(task: TaskSpec, worker: WorkerRecord): number {
  const m = worker.metrics;
  if (m === undefined) return reservedCost(task, worker);
  const want = task.resources;
  const cap = worker.capacity;
  const used = worker.allocated;
  const cpuSeen = m.cpuUsage * m.cpuCores * 1000;
  const memSeen = m.memTotalBytes - m.memAvailableBytes;
  const cpuLoad = Math.max(cpuSeen, used.cpuMillis);
  const memLoad = Math.max(memSeen, used.memoryBytes);
  return (
    cpuCost(cpuLoad, want.cpuMillis, cap.cpuMillis) +
    memCost(memLoad, want.memoryBytes, cap.memoryBytes)
  );
}

/** The marginal cost the policy `epvm` (or `epvm-live` with `live`) ranks by; lower wins. */
export function epvmCost(task: TaskSpec, worker: WorkerRecord, live = false): number {
  return live ? liveCost(task, worker) : reservedCost(task, worker);
}

export const epvmScorer: ScorePlugin = {
  name: 'epvm',
  score(task: TaskSpec, worker: WorkerRecord, _ctx: PlacementContext) {
    return epvmCostToScore(reservedCost(task, worker));
  },
};

export const epvmLiveScorer: ScorePlugin = {
  name: 'epvm-live',
  score(task: TaskSpec, worker: WorkerRecord, _ctx: PlacementContext) {
    return epvmCostToScore(liveCost(task, worker));
  },
};

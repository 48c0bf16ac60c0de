// Placement: filter every worker (counting why each one was rejected), run the policy's
// pre-score hooks over the feasible ones, score them and keep the best few. One pass per
// stage, no per-worker allocation, no sort of all workers for `placeTask`.
import type { PlacementExplanation, TaskSpec, WorkerRecord } from '../types.js';
import { formatNoFitReason, formatPlacedReason } from './reason.js';
import { type CompiledPolicy, policyRegistry } from './registry.js';
import type { PlacementContext, PlacementDecision, RankedWorker } from './types.js';

/** How many best candidates an explanation keeps. */
export const TOP_SCORES = 3;

// Reused feasible list for placeTask; a re-entrant call (a plugin placing something from
// inside a placement) gets its own array.
const scratch: WorkerRecord[] = [];
let scratchBusy = false;

/** Fills `out` with feasible workers; returns the rejection counts (first filter wins). */
function filterPass(
  task: TaskSpec,
  workers: readonly WorkerRecord[],
  policy: CompiledPolicy,
  ctx: PlacementContext,
  out: WorkerRecord[],
  start = 0,
  limit = Number.POSITIVE_INFINITY,
): Map<string, number> {
  const rejected = new Map<string, number>();
  const filters = policy.filters;
  const nFilters = filters.length;
  const n = workers.length;
  for (let j = 0; j < n && out.length < limit; j++) {
    let i = start + j;
    if (i >= n) i -= n;
    const worker = workers[i]!;
    let reason: string | undefined;
    for (let f = 0; f < nFilters; f++) {
      reason = filters[f]!.filter(task, worker, ctx);
      if (reason !== undefined) break;
    }
    if (reason === undefined) out.push(worker);
    else rejected.set(reason, (rejected.get(reason) ?? 0) + 1);
  }
  return rejected;
}

function preScore(
  task: TaskSpec,
  feasible: readonly WorkerRecord[],
  policy: CompiledPolicy,
  ctx: PlacementContext,
): unknown[] | undefined {
  if (!policy.hasPreScore) return undefined;
  return policy.scorers.map((s) => s.preScore?.(task, feasible, ctx));
}

function scoreOf(
  task: TaskSpec,
  worker: WorkerRecord,
  policy: CompiledPolicy,
  ctx: PlacementContext,
  states: unknown[] | undefined,
): number {
  const scorers = policy.scorers;
  const weights = policy.weights;
  let total = 0;
  for (let s = 0; s < scorers.length; s++) {
    const v = scorers[s]!.score(task, worker, ctx, states?.[s]);
    // A plugin outside 0..100 (or NaN, which Math.max would keep) must not take over.
    // biome-ignore lint/complexity/useMathMinMax: the comparison maps NaN to 0
    total += weights[s]! * (v > 100 ? 100 : v >= 0 ? v : 0);
  }
  return total;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

function toRecord(map: Map<string, number>): Record<string, number> {
  const record: Record<string, number> = {};
  for (const [reason, count] of map) record[reason] = count;
  return record;
}

/**
 * Picks a worker for `task` under the named policy. Runs the policy's `reserve` hooks on the
 * choice (e.g. advances the round-robin cursor). Never mutates the worker records.
 * @throws UnknownPolicyError
 */
export function placeTask(
  task: TaskSpec,
  workers: readonly WorkerRecord[],
  policyName: string,
  ctx: PlacementContext,
): PlacementDecision {
  const policy = policyRegistry.compiled(policyName);
  const ownScratch = !scratchBusy;
  const feasible = ownScratch ? scratch : [];
  if (ownScratch) scratchBusy = true;
  try {
    feasible.length = 0;
    const n = workers.length;
    const limit = ctx.candidateLimit;
    const sampled = limit !== undefined && limit >= 1 && limit < n;
    let start = 0;
    if (sampled) {
      const cursor = ctx.roundRobin;
      const offset = cursor?.scanOffset;
      start =
        offset !== undefined && offset >= 0
          ? Math.floor(offset) % n
          : Math.floor(Math.random() * n) % n;
    }
    const rejected = sampled
      ? filterPass(task, workers, policy, ctx, feasible, start, Math.floor(limit))
      : filterPass(task, workers, policy, ctx, feasible);
    let evaluated = feasible.length;
    for (const count of rejected.values()) evaluated += count;
    if (sampled && ctx.roundRobin !== undefined) {
      ctx.roundRobin.scanOffset = (start + evaluated) % n;
    }
    const states = preScore(task, feasible, policy, ctx);

    // Top-k by insertion: earlier workers win ties, so the result is deterministic.
    const topW: (WorkerRecord | undefined)[] = [undefined, undefined, undefined];
    const topS = [-1, -1, -1];
    for (let i = 0; i < feasible.length; i++) {
      const worker = feasible[i]!;
      const score = scoreOf(task, worker, policy, ctx, states);
      if (score <= topS[TOP_SCORES - 1]!) continue;
      let k = TOP_SCORES - 1;
      while (k > 0 && score > topS[k - 1]!) {
        topS[k] = topS[k - 1]!;
        topW[k] = topW[k - 1];
        k--;
      }
      topS[k] = score;
      topW[k] = worker;
    }

    const explanation: PlacementExplanation = {
      at: ctx.now.toISOString(),
      policy: policyName,
      workersEvaluated: evaluated,
      workersFeasible: feasible.length,
      rejected: toRecord(rejected),
      topScores: [],
    };
    for (let k = 0; k < TOP_SCORES; k++) {
      const w = topW[k];
      if (w !== undefined) {
        explanation.topScores.push({ workerId: w.id, workerName: w.name, score: round2(topS[k]!) });
      }
    }
    const best = topW[0];
    if (best === undefined) {
      return { explanation, reason: formatNoFitReason(workers.length, rejected) };
    }
    explanation.chosenWorkerId = best.id;
    if (policy.hasReserve) runReserve(task, best, policy, ctx);
    return {
      workerId: best.id,
      worker: best,
      score: topS[0]!,
      explanation,
      reason: formatPlacedReason(best.name, topS[0]!, policyName),
    };
  } finally {
    feasible.length = 0;
    if (ownScratch) scratchBusy = false;
  }
}

/**
 * Every feasible worker, best first (ties keep input order), for falling back to the next
 * one when the conditional reservation on the best loses a race. Pure: runs no reserve hook;
 * call `notePlacement` for the worker finally used.
 * @throws UnknownPolicyError
 */
export function rankWorkers(
  task: TaskSpec,
  workers: readonly WorkerRecord[],
  policyName: string,
  ctx: PlacementContext,
): RankedWorker[] {
  const policy = policyRegistry.compiled(policyName);
  const feasible: WorkerRecord[] = [];
  filterPass(task, workers, policy, ctx, feasible);
  const states = preScore(task, feasible, policy, ctx);
  const ranked = feasible.map((worker) => ({
    worker,
    score: scoreOf(task, worker, policy, ctx, states),
  }));
  return ranked.sort((a, b) => b.score - a.score);
}

function runReserve(
  task: TaskSpec,
  worker: WorkerRecord,
  policy: CompiledPolicy,
  ctx: PlacementContext,
): void {
  for (const s of policy.scorers) s.reserve?.(task, worker, ctx);
}

/** Tells the policy's plugins which worker a task finally went to (e.g. a fallback). */
export function notePlacement(
  task: TaskSpec,
  worker: WorkerRecord,
  policyName: string,
  ctx: PlacementContext,
): void {
  runReserve(task, worker, policyRegistry.compiled(policyName), ctx);
}

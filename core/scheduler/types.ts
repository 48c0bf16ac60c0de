// The scheduling framework's contracts: filter and score plugins, policies, the context of
// one placement and its result. Kubernetes' Filter / PreScore / Score / Reserve extension
// points and Nomad's feasibility → rank stages, reduced to what Cube needs.
import type { PlacementExplanation, TaskSpec, WorkerRecord } from '../types.js';

/**
 * Round-robin memory kept by the caller between placements (e.g. in the scheduler
 * function's module scope, which survives warm invocations). See `roundRobin.ts` for why
 * the cursor is a worker id rather than an index.
 */
export interface RoundRobinCursor {
  /** Id of the worker the last placement went to. */
  lastWorkerId?: string;
  /** Where the next sampled scan starts (see `candidateLimit`); managed by `placeTask`. */
  scanOffset?: number;
}

/** Everything a plugin may read besides the task and the worker. Plugins must not mutate it. */
export interface PlacementContext {
  now: Date;
  /** A READY worker whose heartbeat is older than this counts as 'not ready'. */
  heartbeatTtlMs: number;
  /** Present when the caller keeps round-robin memory between calls; optional by design. */
  roundRobin?: RoundRobinCursor;
  /**
   * Stop looking once this many feasible workers are found (Kubernetes'
   * percentageOfNodesToScore, Nomad's candidate limit): the way to large clusters, where a
   * full scan of 5,000 workers costs ~0.3–0.5 ms. The scan starts where the last one stopped
   * (`roundRobin.scanOffset`) or, without a cursor, at a random worker, so every worker gets
   * its turn. Absent: every worker is evaluated (exact best). When nothing fits, every
   * worker has been evaluated either way, so the reason is complete. Used by `placeTask`.
   */
  candidateLimit?: number;
  /**
   * Where each task group's placed tasks are (see `taskGroups.ts`); read by the spread
   * scorer. Callers fill it when the policy's `usesTaskGroups` says so.
   */
  taskGroups?: TaskGroupCounts;
}

/** Placed tasks per group, by worker and by worker label value. */
export interface TaskGroupCounts {
  onWorker(group: string, workerId: string): number;
  byLabel(group: string, key: string): ReadonlyMap<string, number>;
}

/** Feasibility: `undefined` when the worker can take the task, else a short human reason. */
export interface FilterPlugin {
  readonly name: string;
  filter(task: TaskSpec, worker: WorkerRecord, ctx: PlacementContext): string | undefined;
}

/**
 * Ranking: 0..100, higher is better. `preScore` runs once per placement over the feasible
 * workers (the array is only valid during the call) and its result is handed to every
 * `score` call of that placement as `state`. `reserve` runs once on the chosen worker.
 */
export interface ScorePlugin<S = unknown> {
  readonly name: string;
  /** Reads `ctx.taskGroups`, which the caller then has to count. */
  readonly usesTaskGroups?: boolean;
  preScore?(task: TaskSpec, feasible: readonly WorkerRecord[], ctx: PlacementContext): S;
  score(task: TaskSpec, worker: WorkerRecord, ctx: PlacementContext, state: S): number;
  reserve?(task: TaskSpec, worker: WorkerRecord, ctx: PlacementContext): void;
}

export interface WeightedScorer {
  plugin: ScorePlugin;
  /** Positive; a worker's score is the weighted mean of its plugins' scores. */
  weight: number;
}

/** A named composition of filters (run in order, first rejection wins) and scorers. */
export interface Policy {
  readonly name: string;
  readonly description?: string;
  readonly filters: readonly FilterPlugin[];
  readonly scorers: readonly WeightedScorer[];
}

export interface RankedWorker {
  worker: WorkerRecord;
  /** Weighted score 0..100, higher is better. */
  score: number;
}

export interface PlacementDecision {
  workerId?: string;
  /** The chosen worker's record as it was read (handy for the conditional reservation). */
  worker?: WorkerRecord;
  score?: number;
  explanation: PlacementExplanation;
  /** `placed on w1 (score 87.2) by epvm` or `0/3 workers fit: 2 insufficient memory, 1 not ready`. */
  reason: string;
}

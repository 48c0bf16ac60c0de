// Service records: what the user asked for (replicas of a task spec and how to update them),
// the revisions of that task spec, the replica slots, and the rollout's state. Types only.
import type { TaskRecord, TaskSpec } from '../types.js';

/** How a new revision replaces the old one; durations in seconds. */
export interface UpdatePolicy {
  /**
   * Live replicas that may run above `replicas` during a rollout; replicas stopping for good
   * do not count (they hold their worker's reservation until stopped). A number, or a
   * percentage of `replicas` (`"25%"`, rounded up; core/services/spec.ts rollingBounds).
   */
  maxSurge: number | string;
  /**
   * Healthy replicas that may be missing below `replicas` during a rollout. A number, or a
   * percentage of `replicas` (rounded down).
   */
  maxUnavailable: number | string;
  /** A replica counts as healthy after being RUNNING (and passing its check) this long. */
  minHealthyTime: number;
  /** A new replica not healthy this long after it was created fails the rollout. */
  healthyDeadline: number;
  /** A rollout with no step forward this long fails. */
  progressDeadline: number;
  /** A failed rollout rolls the previous revision forward again. */
  autoRollback: boolean;
}

/** A service spec after validation: the task spec is normalised, its name the service's. */
export interface ServiceSpec {
  name: string;
  replicas: number;
  task: TaskSpec;
  update: UpdatePolicy;
}

export const ROLLOUT_STATES = [
  'progressing',
  'complete',
  'failed',
  'rolling-back',
  'rolled-back',
  'deleting',
] as const;
export type RolloutState = (typeof ROLLOUT_STATES)[number];

export interface Rollout {
  state: RolloutState;
  /** The revision being rolled out (the service's target revision). */
  revision: number;
  /** The revision that was stable when this rollout began: where an automatic rollback goes. */
  fromRevision?: number;
  startedAt: string;
  /** The last step forward (a new replica healthy, an old one gone); progressDeadline counts from it. */
  progressAt: string;
  /** New-revision replicas healthy and old replicas left at the last step, to see the next one. */
  newHealthy: number;
  oldLeft: number;
  /** One line a person can act on. */
  reason: string;
}

export interface ServiceRecord {
  name: string;
  /** Random per incarnation of the name: replica task ids of a re-created service differ. */
  uid: string;
  replicas: number;
  update: UpdatePolicy;
  /** The target revision and its task spec. */
  revision: number;
  task: TaskSpec;
  /** Highest revision number given so far (the next is one more). */
  latestRevision: number;
  /** The last revision whose rollout completed. */
  stableRevision?: number;
  /** +1 on every apply, scale, rollback and delete: replica creations are conditional on it. */
  specVersion: number;
  /** +1 on every write (optimistic concurrency). */
  version: number;
  rollout: Rollout;
  deleting?: boolean;
  /** When a controller run is already due (a delayed nudge is on its way). */
  wakeAt?: string;
  createdAt: string;
  updatedAt: string;
}

export interface RevisionRecord {
  service: string;
  revision: number;
  task: TaskSpec;
  createdAt: string;
}

/**
 * A replica position. Its generation moves on (conditionally) only when the controller
 * creates a replica in it, after the previous one is gone or retiring (stopping for good,
 * which nothing undoes): two controllers can never both fill one slot, so the replicas that
 * are not retiring are never more than the slots in use.
 */
export interface SlotRecord {
  slot: number;
  gen: number;
  taskId: string;
  revision: number;
  /** Consecutive occupants that failed (not stopped by Cube): backs off replacing them. */
  failures: number;
  /**
   * Earlier occupants that were still stopping when the slot was filled again, until seen
   * gone: the controller waits for them (a delete, a rollout's end) and counts them stopping.
   */
  draining?: string[];
}

/** A slot with its replicas' task records (absent if not found). */
export interface SlotView extends SlotRecord {
  task?: TaskRecord;
  /** The records of `draining` that were found. */
  drainingTasks?: TaskRecord[];
}

export type ServiceEventKind =
  | 'applied'
  | 'scaled'
  | 'rollout-started'
  | 'rollout-step'
  | 'rollout-complete'
  | 'rollout-failed'
  | 'rollback-started'
  | 'rolled-back'
  | 'replica-replaced'
  | 'deleting'
  | 'deleted';

export interface ServiceEvent {
  service: string;
  at: string;
  kind: ServiceEventKind;
  revision: number;
  by: string;
  reason: string;
}

/** Replica counts as `cube services` shows them. */
export interface ReplicaCounts {
  desired: number;
  /** Live replicas (not stopping for good), of any revision: what maxSurge bounds. */
  live: number;
  running: number;
  healthy: number;
  /** Live replicas of the target revision. */
  updated: number;
  stopping: number;
}

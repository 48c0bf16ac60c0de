// What every task handler of the worker needs: who it is, where records live, its Docker
// runtime, the per-task locks of this process, and the timers and probes it keeps per task.
import type { KeyObject } from 'node:crypto';
import type { Queues } from '../../aws/queues.js';
import type { TaskStore } from '../../aws/taskStore.js';
import type { WorkerStore } from '../../aws/workerStore.js';
import type { ContainerPolicy } from '../../core/containerPolicy.js';
import type { RestartSettings } from '../../core/restartPolicy.js';
import type { TaskRecord, TaskState } from '../../core/types.js';
import type { ContainerRuntime } from '../engine/containerRuntime.js';
import type { RestartTimers } from './restartTimers.js';
import type { SecretStores } from './secrets.js';
import type { TaskLocks } from './taskLocks.js';

/** What task handlers ask of the health probes; declared here so the context needs no import of them. */
export interface HealthProbes {
  /** Starts probing the task's attempt if it has a health check and is not probed yet. */
  ensure(task: TaskRecord, containerId: string): void;
  stop(taskId: string): void;
  stopAll(): void;
}

export interface WorkerContext {
  workerId: string;
  /** The `by` of every transition this worker writes: `worker:<id>`. */
  by: string;
  tasks: TaskStore;
  /** For carrying out restarts (aws/restarts.ts): the worker's state, the scheduling nudge. */
  workers: WorkerStore;
  queues: Queues;
  restartSettings: RestartSettings;
  runtime: ContainerRuntime;
  locks: TaskLocks;
  /** Planned restarts of this worker's tasks, each carried out when due. */
  restarts: RestartTimers;
  /** Health probes of this worker's RUNNING tasks (tasks/healthMonitor.ts). */
  health: HealthProbes;
  log: (line: string) => void;
  /** The control plane's public key: placements not signed with it run nothing here. */
  controlPlaneKey: KeyObject;
  /** This host's own container policy (its CUBE_ALLOW_* settings). */
  hostPolicy: ContainerPolicy;
  /** Where tasks' secrets are read at container start (tasks/secrets.ts). */
  secrets: SecretStores;
  /**
   * A container is about to start, whatever asked for it (a run message, the startup
   * reconcile, a planned restart): the heartbeat takes its busy interval now, not at the end
   * of an idle one, so the worker's loss (or a crashed daemon's successor) waits seconds.
   */
  onWork?: () => void;
}

/** Conflicts re-read and decide again; this bounds how often before giving up to a retry. */
export const MAX_CONFLICT_RETRIES = 5;

/** States in which a container of the task's current attempt should exist on its worker. */
export const CONTAINER_STATES: ReadonlySet<TaskState> = new Set([
  'STARTING',
  'RUNNING',
  'STOPPING',
]);

/**
 * The record a message carried when it is in `state` for this worker's attempt, else the one
 * read from the table. A carried copy is only ever used through a write conditional on its
 * version, so a stale one costs a conflict and a read, never a wrong action on the record.
 */
export async function carriedOrRead(
  ctx: Pick<WorkerContext, 'workerId' | 'tasks'>,
  taskId: string,
  attempt: number,
  state: TaskState,
  carried: TaskRecord | undefined,
): Promise<TaskRecord | undefined> {
  return carried?.state === state && ownsAttempt(ctx, carried, attempt)
    ? carried
    : ctx.tasks.get(taskId);
}

/** The record says this worker runs this attempt of the task. */
export function ownsAttempt(
  ctx: Pick<WorkerContext, 'workerId'>,
  task: TaskRecord | undefined,
  attempt: number,
): task is TaskRecord {
  return task !== undefined && task.workerId === ctx.workerId && task.attempt === attempt;
}

// What every task handler of the worker needs: who it is, where records live, its Docker
// runtime and the per-task locks of this process.
import type { TaskStore } from '../aws/taskStore.js';
import type { TaskRecord, TaskState } from '../core/types.js';
import type { DockerRuntime } from './dockerRuntime.js';
import type { TaskLocks } from './taskLocks.js';

export interface WorkerContext {
  workerId: string;
  /** The `by` of every transition this worker writes: `worker:<id>`. */
  by: string;
  tasks: TaskStore;
  runtime: DockerRuntime;
  locks: TaskLocks;
  log: (line: string) => void;
}

/** Conflicts re-read and decide again; this bounds how often before giving up to a retry. */
export const MAX_CONFLICT_RETRIES = 5;

/** States in which a container of the task's current attempt should exist on its worker. */
export const CONTAINER_STATES: ReadonlySet<TaskState> = new Set([
  'STARTING',
  'RUNNING',
  'STOPPING',
]);

/** The record says this worker runs this attempt of the task. */
export function ownsAttempt(
  ctx: Pick<WorkerContext, 'workerId'>,
  task: TaskRecord | undefined,
  attempt: number,
): task is TaskRecord {
  return task !== undefined && task.workerId === ctx.workerId && task.attempt === attempt;
}

// Carries out a task's planned restart when it is due: a new attempt in place on the same
// worker (reserving its room again), or, when that worker cannot take it, a fresh placement.
// Used by the worker (right after its backoff) and by the reconciler (for restarts whose
// worker died before doing them). Idempotent: the version check lets only one caller win.
import { CapacityExhaustedError, ConflictError } from '../core/errors.js';
import { restartAttemptPatch } from '../core/restartPolicy.js';
import type { TaskRecord } from '../core/types.js';
import type { Queues } from './queues.js';
import type { TaskStore } from './taskStore.js';
import type { WorkerStore } from './workerStore.js';

export interface RestartDeps {
  tasks: TaskStore;
  workers: WorkerStore;
  queues: Queues;
}

/** STOPPING only for a drain, and only once its worker has stopped the container. */
const RESTARTABLE: readonly TaskRecord['state'][] = ['FAILED', 'COMPLETED', 'LOST', 'STOPPING'];

export type RestartOutcome =
  | { kind: 'in-place'; task: TaskRecord }
  | { kind: 'rescheduled'; task: TaskRecord }
  | { kind: 'not-due' | 'obsolete' };

/**
 * Applies `task.restart` if due. An in-place restart returns the SCHEDULED task without
 * sending a run message (`notifyWorker` decides: the worker itself just runs it).
 */
export async function applyDueRestart(
  deps: RestartDeps,
  task: TaskRecord,
  by: string,
  options: { now?: Date; notifyWorker?: boolean } = {},
): Promise<RestartOutcome> {
  const now = options.now ?? new Date();
  const plan = task.restart;
  if (!plan || !RESTARTABLE.includes(task.state)) return { kind: 'obsolete' };
  if (Date.parse(plan.at) > now.getTime()) return { kind: 'not-due' };
  try {
    if (
      plan.kind === 'in-place' &&
      task.workerId &&
      task.state !== 'LOST' &&
      task.state !== 'STOPPING'
    ) {
      const worker = await deps.workers.get(task.workerId);
      if (worker?.state === 'READY' && !worker.cordoned) {
        try {
          const scheduled = await deps.tasks.transition(task, {
            to: 'SCHEDULED',
            by,
            reason: `restart ${task.restartCount + 1} in place`,
            patch: { ...restartAttemptPatch(task, 'in-place'), workerId: worker.id },
            now,
          });
          if (options.notifyWorker) {
            await deps.queues.sendTaskToWorker(worker.queueUrl, 'run', scheduled);
          }
          return { kind: 'in-place', task: scheduled };
        } catch (error) {
          if (!(error instanceof CapacityExhaustedError)) throw error;
          // Its room was taken meanwhile: place it afresh below.
        }
      }
    }
    const pending = await deps.tasks.transition(task, {
      to: 'PENDING',
      by,
      reason:
        plan.kind === 'in-place'
          ? 'its worker cannot restart it; placing it again'
          : 'rescheduling',
      patch: restartAttemptPatch(task, 'reschedule'),
      now,
    });
    await deps.queues.sendSchedule({
      kind: 'schedule',
      taskId: pending.id,
      attempt: pending.attempt,
    });
    return { kind: 'rescheduled', task: pending };
  } catch (error) {
    if (error instanceof ConflictError) return { kind: 'obsolete' };
    throw error;
  }
}

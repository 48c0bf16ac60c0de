// A worker's life in the cluster's timeline (up, down, cordon, uncordon, drain, removed), and
// its removal: the record and its queue, for a DOWN worker only.
import type { WorkerAction } from '../../core/history/events.js';
import type { WorkerRecord } from '../../core/types.js';
import type { Deps } from './deps.js';

/** Writes a worker event; a failure is logged, never thrown: the change itself is done. */
export async function noteWorkerEvent(
  deps: Pick<Deps, 'events'>,
  worker: Pick<WorkerRecord, 'id' | 'name'>,
  action: WorkerAction,
  by: string,
  reason?: string,
): Promise<void> {
  try {
    await deps.events.record({
      kind: 'worker',
      action,
      workerId: worker.id,
      by,
      reason: reason ?? `worker ${worker.name}: ${action}`,
    });
  } catch (error) {
    console.error(
      `event ${action} of worker ${worker.id} not written: ${(error as Error).message}`,
    );
  }
}

export type RemoveOutcome = 'removed' | 'live' | 'holds-tasks' | 'changed';

/**
 * Removes a DOWN worker that holds no task: its record (conditional on both), then its queue.
 * A live worker, or one whose tasks the reconciler is still moving, is left alone.
 */
export async function removeDownWorker(
  deps: Pick<Deps, 'workers' | 'queues' | 'events'>,
  worker: WorkerRecord,
  by: string,
  reason: string,
): Promise<RemoveOutcome> {
  if (worker.state !== 'DOWN') return 'live';
  if (worker.allocated.tasks > 0) return 'holds-tasks';
  if (!(await deps.workers.removeDown(worker.id))) return 'changed';
  await deps.queues.deleteWorkerQueue(worker.queueUrl);
  await noteWorkerEvent(deps, worker, 'removed', by, reason);
  return 'removed';
}

// DOWN workers are kept for the retention (CUBE_RETAIN_FINISHED) so `cube nodes` says what
// happened to them, then removed with their queues. DynamoDB's TTL on the record comes a day
// later, as a backstop: the queue would outlive a record that the TTL deleted first.
import type { WorkerRecord } from '../../core/types.js';
import type { Deps } from '../shared/deps.js';
import { removeDownWorker } from '../shared/workerLifecycle.js';

/** Whether a DOWN worker's retention has run out by `now`. */
export function removalDue(worker: WorkerRecord, retentionMs: number, now: Date): boolean {
  if (worker.state !== 'DOWN') return false;
  const since = Date.parse(worker.downAt ?? worker.heartbeatAt);
  return Number.isFinite(since) && now.getTime() - since >= retentionMs;
}

/** Removes every due DOWN worker; one that fails is logged and left for the next sweep. */
export async function removeExpiredWorkers(
  deps: Deps,
  workers: Iterable<WorkerRecord>,
  now: Date,
): Promise<number> {
  let removed = 0;
  for (const worker of workers) {
    if (!removalDue(worker, deps.config.retainFinishedMs, now)) continue;
    try {
      const outcome = await removeDownWorker(
        deps,
        worker,
        'reconciler',
        `worker ${worker.name} removed: DOWN since ${worker.downAt ?? worker.heartbeatAt}, past the retention`,
      );
      if (outcome === 'removed') removed++;
    } catch (error) {
      console.error(`reconciler: removing worker ${worker.id} failed: ${(error as Error).message}`);
    }
  }
  return removed;
}

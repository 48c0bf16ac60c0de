// The reconciler function (on a schedule): repairs what lost messages left behind.
// - PENDING tasks get a fresh schedule nudge (a lost nudge, or room that has freed up);
// - SCHEDULED tasks no worker picked up get their run message again; if their worker is
//   gone, the reservation is given back and the task is placed again.
import middy from '@middy/core';
import { ConflictError } from '../../core/errors.js';
import type { TaskRecord } from '../../core/types.js';
import { type Deps, getDeps } from '../shared/deps.js';

/** Leave fresh submissions to their own nudge. */
const PENDING_GRACE_MS = 5_000;

export interface ReconcileReport {
  pendingNudged: number;
  runResent: number;
  unplaced: number;
}

export async function reconcile(deps: Deps, now = new Date()): Promise<ReconcileReport> {
  const report: ReconcileReport = { pendingNudged: 0, runResent: 0, unplaced: 0 };
  const age = (iso: string | undefined) => now.getTime() - Date.parse(iso ?? '');

  for (const task of await deps.tasks.listByState(['PENDING'])) {
    if (age(task.updatedAt) < PENDING_GRACE_MS) continue;
    await deps.queues.sendSchedule({ kind: 'schedule', taskId: task.id, attempt: task.attempt });
    report.pendingNudged++;
  }

  const workers = new Map((await deps.workers.list()).map((w) => [w.id, w]));
  for (const task of await deps.tasks.listByState(['SCHEDULED'])) {
    if (age(task.scheduledAt) < deps.config.scheduledResendMs) continue;
    const worker = task.workerId ? workers.get(task.workerId) : undefined;
    if (worker && worker.state === 'READY') {
      await deps.queues.sendToWorker(worker.queueUrl, {
        kind: 'run',
        taskId: task.id,
        attempt: task.attempt,
      });
      report.runResent++;
    } else if (await unplace(deps, task)) {
      report.unplaced++;
    }
  }
  return report;
}

async function unplace(deps: Deps, task: TaskRecord): Promise<boolean> {
  try {
    const pending = await deps.tasks.transition(task, {
      to: 'PENDING',
      by: 'reconciler',
      reason: 'its worker is gone; placing it again',
    });
    await deps.queues.sendSchedule({ kind: 'schedule', taskId: task.id, attempt: pending.attempt });
    return true;
  } catch (error) {
    if (error instanceof ConflictError) return false;
    throw error;
  }
}

export const handler = middy().handler(async () => {
  const report = await reconcile(getDeps());
  if (report.pendingNudged + report.runResent + report.unplaced > 0) {
    console.log(`reconciler: ${JSON.stringify(report)}`);
  }
  return report;
});

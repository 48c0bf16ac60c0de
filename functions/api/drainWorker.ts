// Drain: cordon a worker, then move each task it holds elsewhere. A task goes STOPPING
// with a reschedule planned on the same write; its worker stops the container, sees the
// plan and sends the task back to PENDING (aws/restarts.ts applyDueRestart), and the
// scheduler places it on another worker. The worker stays cordoned.
import { ConflictError } from '../../core/errors.js';
import type { TaskRecord, WorkerRecord } from '../../core/types.js';
import type { Deps } from '../shared/deps.js';

const ON_WORKER = ['SCHEDULED', 'STARTING', 'RUNNING'] as const;

export interface DrainReport {
  worker: WorkerRecord;
  /** Tasks this drain moved to STOPPING (their worker was sent a stop). */
  stopping: string[];
  /** Tasks already STOPPING or finished by the time the drain reached them. */
  skipped: string[];
}

type DrainDeps = Pick<Deps, 'tasks' | 'workers' | 'queues'>;

async function stopForReschedule(
  deps: DrainDeps,
  task: TaskRecord,
  workerId: string,
  by: string,
  now: Date,
): Promise<TaskRecord | undefined> {
  let current: TaskRecord | undefined = task;
  for (let tries = 0; tries < 5 && current; tries++) {
    if (
      current.workerId !== workerId ||
      !(ON_WORKER as readonly string[]).includes(current.state)
    ) {
      return undefined;
    }
    const at = now.toISOString();
    try {
      return await deps.tasks.transition(current, {
        to: 'STOPPING',
        by,
        reason: `draining worker ${workerId}; will be placed elsewhere`,
        patch: { restart: { kind: 'reschedule', at }, restartDue: at },
        now,
      });
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      current = await deps.tasks.get(task.id);
    }
  }
  return undefined;
}

export async function drainWorker(
  deps: DrainDeps,
  workerId: string,
  by: string,
  now = new Date(),
): Promise<DrainReport> {
  // Cordon first, so nothing new lands here while its tasks leave.
  const worker = await deps.workers.setCordoned(workerId, true);
  const report: DrainReport = { worker, stopping: [], skipped: [] };
  const held = await deps.tasks.listByWorker(workerId, ON_WORKER);
  for (const task of held) {
    const stopping = await stopForReschedule(deps, task, workerId, by, now);
    if (!stopping) {
      report.skipped.push(task.id);
      continue;
    }
    report.stopping.push(stopping.id);
    await deps.queues.sendTaskToWorker(worker.queueUrl, 'stop', stopping);
  }
  return report;
}

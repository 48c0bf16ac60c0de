// One reconciliation sweep:
// - workers silent for longer than the heartbeat TTL are marked DOWN; tasks held by a DOWN
//   or vanished worker become LOST and are rescheduled by their policy;
// - planned restarts that are overdue (their worker died before doing them) are carried out;
// - SCHEDULED tasks no worker picked up get their run message again;
// - PENDING tasks get a fresh schedule nudge (a lost nudge, or room that has freed up).
import { applyDueRestart } from '../../aws/restarts.js';
import { ConflictError } from '../../core/errors.js';
import { decideRestart, restartPatch } from '../../core/restartPolicy.js';
import type { TaskRecord, WorkerRecord } from '../../core/types.js';
import type { Deps } from '../shared/deps.js';

/** Leave fresh submissions to their own nudge. */
const PENDING_GRACE_MS = 5_000;
/** A worker carries out its own restarts after their backoff; step in only when it did not. */
const RESTART_GRACE_MS = 5_000;
const BY = 'reconciler';

export interface ReconcileReport {
  workersDown: number;
  tasksLost: number;
  restarted: number;
  runResent: number;
  pendingNudged: number;
}

export interface ReconcileOptions {
  now?: Date;
  /**
   * False right after the reconciler itself could not reach AWS: workers were cut off too,
   * and deserve a heartbeat TTL to report back before they are declared DOWN.
   */
  mayMarkDown?: boolean;
}

export async function reconcile(
  deps: Deps,
  options: ReconcileOptions = {},
): Promise<ReconcileReport> {
  const now = options.now ?? new Date();
  const report: ReconcileReport = {
    workersDown: 0,
    tasksLost: 0,
    restarted: 0,
    runResent: 0,
    pendingNudged: 0,
  };
  const workers = await markSilentWorkersDown(deps, now, report, options.mayMarkDown ?? true);
  const held = await deps.tasks.listByState(['SCHEDULED', 'STARTING', 'RUNNING', 'STOPPING']);
  for (const task of held) {
    const worker = task.workerId ? workers.get(task.workerId) : undefined;
    if (!worker || worker.state === 'DOWN') {
      if (await loseTask(deps, task, worker)) report.tasksLost++;
    } else if (
      task.state === 'SCHEDULED' &&
      age(task.scheduledAt, now) >= deps.config.scheduledResendMs
    ) {
      await deps.queues.sendToWorker(worker.queueUrl, {
        kind: 'run',
        taskId: task.id,
        attempt: task.attempt,
      });
      report.runResent++;
    }
  }

  const due = await deps.tasks.dueRestarts(new Date(now.getTime() - RESTART_GRACE_MS));
  for (const id of due) {
    const task = await deps.tasks.get(id);
    // A drained STOPPING task is moved on by its worker once the container is gone.
    if (!task || task.state === 'STOPPING') continue;
    const outcome = await applyDueRestart(deps, task, BY, { now, notifyWorker: true });
    if (outcome.kind === 'in-place' || outcome.kind === 'rescheduled') report.restarted++;
  }

  for (const task of await deps.tasks.listByState(['PENDING'])) {
    if (age(task.updatedAt, now) < PENDING_GRACE_MS) continue;
    await deps.queues.sendSchedule({ kind: 'schedule', taskId: task.id, attempt: task.attempt });
    report.pendingNudged++;
  }
  return report;
}

const age = (iso: string | undefined, now: Date) => now.getTime() - Date.parse(iso ?? '');

async function markSilentWorkersDown(
  deps: Deps,
  now: Date,
  report: ReconcileReport,
  mayMarkDown: boolean,
): Promise<Map<string, WorkerRecord>> {
  const workers = new Map<string, WorkerRecord>();
  for (const worker of await deps.workers.list()) {
    const silent = age(worker.heartbeatAt, now) > deps.config.heartbeatTtlMs;
    if (mayMarkDown && worker.state === 'READY' && silent) {
      if (await deps.workers.markDown(worker.id, worker.heartbeatAt)) {
        report.workersDown++;
        console.log(
          `reconciler: worker ${worker.name} (${worker.id}) is DOWN: no heartbeat since ${worker.heartbeatAt}`,
        );
        workers.set(worker.id, { ...worker, state: 'DOWN' });
        continue;
      }
      const fresh = await deps.workers.get(worker.id);
      if (fresh) workers.set(worker.id, fresh);
      continue;
    }
    workers.set(worker.id, worker);
  }
  return workers;
}

/**
 * A task whose worker is gone: LOST (its reservation released), then placed elsewhere at
 * once when its policy allows. A task being stopped just ends STOPPED, unless a drain
 * planned to move it.
 */
async function loseTask(deps: Deps, task: TaskRecord, worker: WorkerRecord | undefined) {
  const why = worker ? `worker ${worker.name} is down` : `worker ${task.workerId} is gone`;
  try {
    if (task.state === 'STOPPING' && !task.restart) {
      await deps.tasks.transition(task, { to: 'STOPPED', by: BY, reason: `${why} while stopping` });
      return true;
    }
    const decision = decideRestart(task, { kind: 'lost' }, deps.config.restart);
    const lost = await deps.tasks.transition(task, {
      to: 'LOST',
      by: BY,
      reason: `${why}; ${decision.reason}`,
      patch: restartPatch(decision),
    });
    await applyDueRestart(deps, lost, BY, { notifyWorker: true });
    return true;
  } catch (error) {
    if (error instanceof ConflictError) return false;
    throw error;
  }
}

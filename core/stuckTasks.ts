// Final bounds on the states a worker moves a task out of. Each has its own repair first (a
// run or stop message sent again: core/runResend.ts; a DOWN worker's tasks LOST); these catch
// what those cannot, a live worker that holds a task and never gets on with it (an engine that
// hangs on a create, a queue loop wedged behind something). The reconciler applies the verdict.
import type { TaskRecord } from './types.js';

export const STUCK_BOUNDS = {
  /**
   * Placed and never claimed (resends included). A worker works through a burst's backlog in
   * order: bench:throughput's 100 tasks a worker took ~11 min at load average ~100 (10 min
   * failed 2 of 1,000 tasks of a worker that was getting on with them).
   */
  scheduledMs: 20 * 60_000,
  /** Claimed and never RUNNING: beyond the engine's own bounds on a create and a start (5 min). */
  startingMs: 8 * 60_000,
  /**
   * Beyond the task's stop timeout (the engine's SIGKILL) and the stop's own engine bound, and
   * a worker's backlog of stops: bench:throughput's 1,000 stops at once, 100 a worker, took
   * ~4 min at load average ~100, and 2 min forced 872 STOPPED while their containers ran.
   */
  stoppingMarginMs: 10 * 60_000,
} as const;

export type StuckVerdict =
  /** SCHEDULED or STARTING too long: FAILED, and its restart policy decides. */
  | { action: 'fail'; reason: string }
  /** STOPPING too long: STOPPED without its worker's word (a leftover container is its to remove). */
  | { action: 'force-stop'; reason: string };

type Stuckable = Pick<TaskRecord, 'state' | 'scheduledAt' | 'updatedAt'> & {
  spec?: { stopTimeoutSeconds?: number };
};

const minutes = (ms: number) => `${Math.round(ms / 60_000)} min`;

/** What the reconciler does with a task held past its state's bound; undefined: nothing yet. */
export function stuckVerdict(
  task: Stuckable,
  workerName: string,
  now: Date,
  bounds = STUCK_BOUNDS,
): StuckVerdict | undefined {
  const since = (iso: string | undefined) => now.getTime() - Date.parse(iso ?? '');
  switch (task.state) {
    case 'SCHEDULED':
      return since(task.scheduledAt ?? task.updatedAt) > bounds.scheduledMs
        ? {
            action: 'fail',
            reason: `worker ${workerName} did not pick it up within ${minutes(bounds.scheduledMs)}`,
          }
        : undefined;
    case 'STARTING':
      return since(task.updatedAt) > bounds.startingMs
        ? {
            action: 'fail',
            reason: `worker ${workerName} did not start it within ${minutes(bounds.startingMs)}`,
          }
        : undefined;
    case 'STOPPING': {
      const boundMs = (task.spec?.stopTimeoutSeconds ?? 10) * 1000 + bounds.stoppingMarginMs;
      return since(task.updatedAt) > boundMs
        ? {
            action: 'force-stop',
            reason: `worker ${workerName} did not confirm the stop within ${Math.round(boundMs / 1000)} s; stopped by force`,
          }
        : undefined;
    }
    default:
      return undefined;
  }
}

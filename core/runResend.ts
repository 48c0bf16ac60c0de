// When the reconciler sends a SCHEDULED task's run message again (and, by the same rule, a
// STOPPING task's stop). A run message is lost only when its send failed (the API or
// scheduler stopped between its write and its send); a task can also stay SCHEDULED because
// its worker has a backlog (a burst: hundreds of messages waiting in its queue while it
// starts four containers at a time). Re-sending then only
// queues a copy behind the original (bench:throughput: 250 copies for 1,000 tasks).
// A worker therefore says with each heartbeat when it last found its queue empty: the start
// of a receive that brought fewer messages than it asked for. Every message sent before that
// moment has reached it, so a task placed well before it and still SCHEDULED had its message
// lost. Workers that do not say (older versions) get the message again after the delay alone.
import type { WorkerRecord } from './types.js';

type ResendView = Pick<WorkerRecord, 'queueCaughtUpAt'>;
export type SweepView = Pick<
  WorkerRecord,
  'state' | 'heartbeatAt' | 'queueCaughtUpAt' | 'allocated'
>;

/** True when the task's run message should be sent again now. */
export function runMessageOverdue(
  scheduledAt: string | undefined,
  worker: ResendView,
  now: Date,
  resendMs: number,
): boolean {
  return messageOverdue(scheduledAt, worker, now, resendMs, 0);
}

/**
 * True when a STOPPING task's stop message should be sent again now: the same rule, once the
 * worker has also had the task's stop timeout to let the container exit. `stoppingSince` is
 * the STOPPING write; the message is sent after it. In the stop phase of bench:throughput the
 * delay alone re-sent a stop for every task still queued behind the others, and the workers
 * dropped the copies as obsolete (session 8: 376 and 598 for 1,000 tasks, 270 for 300).
 */
export function stopMessageOverdue(
  stoppingSince: string | undefined,
  worker: ResendView,
  now: Date,
  resendMs: number,
  stopTimeoutMs: number,
): boolean {
  return messageOverdue(stoppingSince, worker, now, resendMs, stopTimeoutMs);
}

function messageOverdue(
  sentAfter: string | undefined,
  worker: ResendView,
  now: Date,
  resendMs: number,
  handlingMs: number,
): boolean {
  const sent = Date.parse(sentAfter ?? '');
  if (!(now.getTime() - sent >= resendMs + handlingMs)) return false;
  if (worker.queueCaughtUpAt === undefined) return true;
  // The time is stamped before the record's write, and the message is sent after it: half
  // the resend delay is left for the send, so a copy is not made of a message that was
  // merely slow to go out (that copy would be harmless, only wasted).
  return Date.parse(worker.queueCaughtUpAt) >= sent + resendMs / 2;
}

/**
 * A live worker beats at once when a run message reaches it: a task placed on it longer than
 * the resend delay ago, with no heartbeat since the placement, means the worker is gone.
 */
export function placementUnanswered(
  scheduledAt: string | undefined,
  worker: Pick<WorkerRecord, 'heartbeatAt'>,
  now: Date,
  resendMs: number,
): boolean {
  const placed = Date.parse(scheduledAt ?? '');
  if (!(now.getTime() - placed >= resendMs)) return false;
  return Date.parse(worker.heartbeatAt) < placed;
}

/**
 * The latest creation time of a SCHEDULED task that one of these workers' state can make
 * need the reconciler this sweep (a copy of its run message, or its worker taken for gone);
 * undefined when any task may (a DOWN worker holds some). A task is created before it is
 * placed, so the tasks created later need nothing, and the store's (state, createdAt) index
 * skips them: in a burst every worker is behind its queue and this falls before the burst,
 * where reading every SCHEDULED task each sweep read hundreds. A task on a worker whose
 * record has vanished is left to the reconciler's periodic full read.
 */
export function scheduledWorthReading(
  workers: Iterable<SweepView>,
  now: Date,
  resendMs: number,
): Date | undefined {
  const latestOverdue = now.getTime() - resendMs;
  let cutoff = Number.NEGATIVE_INFINITY;
  for (const worker of workers) {
    if (worker.state === 'DOWN') {
      if (worker.allocated.tasks > 0) return undefined;
      continue;
    }
    let bound = latestOverdue;
    // Beaten since the latest overdue placement: none of its tasks can be unanswered, and a
    // copy is owed only to tasks placed well before its queue was last empty.
    const caughtUp = Date.parse(worker.queueCaughtUpAt ?? '');
    if (Number.isFinite(caughtUp) && Date.parse(worker.heartbeatAt) >= latestOverdue) {
      bound = Math.min(bound, caughtUp - resendMs / 2);
    }
    cutoff = Math.max(cutoff, bound);
  }
  return new Date(Number.isFinite(cutoff) ? cutoff : 0);
}

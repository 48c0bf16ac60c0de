// When the reconciler sends a SCHEDULED task's run message again. A run message is lost only
// when its send failed (the API or scheduler stopped between its write and its send); a task
// can also stay SCHEDULED because its worker has a backlog (a burst: hundreds of messages
// waiting in its queue while it starts four containers at a time). Re-sending then only
// queues a copy behind the original (bench:throughput: 250 copies for 1,000 tasks).
// A worker therefore says with each heartbeat when it last found its queue empty: the start
// of a receive that brought fewer messages than it asked for. Every message sent before that
// moment has reached it, so a task placed well before it and still SCHEDULED had its message
// lost. Workers that do not say (older versions) get the message again after the delay alone.
import type { WorkerRecord } from './types.js';

/** True when the task's run message should be sent again now. */
export function runMessageOverdue(
  scheduledAt: string | undefined,
  worker: Pick<WorkerRecord, 'queueCaughtUpAt'>,
  now: Date,
  resendMs: number,
): boolean {
  const placed = Date.parse(scheduledAt ?? '');
  if (!(now.getTime() - placed >= resendMs)) return false;
  if (worker.queueCaughtUpAt === undefined) return true;
  // scheduledAt is stamped before the placement's write, and the message is sent after it:
  // half the resend delay is left for the send, so a copy is not made of a message that was
  // merely slow to go out (that copy would be harmless, only wasted).
  return Date.parse(worker.queueCaughtUpAt) >= placed + resendMs / 2;
}

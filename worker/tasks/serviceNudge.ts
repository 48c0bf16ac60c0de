// A service replica that changed in a way its rollout waits for (RUNNING, healthy, STOPPED)
// nudges the service controller at once, instead of leaving it to the controller's next
// poll (2 s) or the reconciler's sweep. Once it has been healthy for its service's
// minHealthyTime (carried on the record) it nudges again, so the controller acts on time
// rather than at its delayed wake-up (SQS delays are whole seconds). Best effort: the poll is
// still there if a nudge is lost.
import type { TaskRecord } from '../../core/types.js';
import type { WorkerContext } from './workerContext.js';

/** Late rather than early: a nudge before the moment finds nothing to do. */
const HEALTHY_NUDGE_MARGIN_MS = 50;

/** `healthyFrom`: when the replica became healthy (RUNNING with no check, or passing it). */
export function nudgeService(
  ctx: Pick<WorkerContext, 'queues' | 'log'>,
  task: TaskRecord,
  healthyFrom?: string,
): void {
  if (!task.service) return;
  const name = task.service;
  const send = () =>
    ctx.queues
      .sendSchedule({ kind: 'service', name })
      .catch((error: Error) => ctx.log(`service ${name}: no nudge sent: ${error.message}`));
  void send();
  const after = task.serviceHealthyAfterMs;
  if (healthyFrom === undefined || !after) return;
  const delay = Date.parse(healthyFrom) + after + HEALTHY_NUDGE_MARGIN_MS - Date.now();
  setTimeout(send, Math.max(0, delay)).unref();
}

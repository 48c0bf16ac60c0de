// A service replica that changed in a way its rollout waits for (RUNNING, healthy, STOPPED)
// nudges the service controller at once, instead of leaving it to the controller's next
// poll (2 s) or the reconciler's sweep. Best effort: the poll is still there if it is lost.
import type { TaskRecord } from '../../core/types.js';
import type { WorkerContext } from './workerContext.js';

export function nudgeService(ctx: Pick<WorkerContext, 'queues' | 'log'>, task: TaskRecord): void {
  if (!task.service) return;
  const name = task.service;
  ctx.queues
    .sendSchedule({ kind: 'service', name })
    .catch((error: Error) => ctx.log(`service ${name}: no nudge sent: ${error.message}`));
}

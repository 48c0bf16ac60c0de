// Carries out a planned restart of one of this worker's tasks when it is due (aws/restarts.ts
// decides how): in place, the new attempt is started here at once, without a run message;
// otherwise the task goes back to PENDING for the scheduler. Both the backoff timer and a
// finished drain come here.
import { applyDueRestart } from '../../aws/restarts.js';
import { runTaskLocked } from './runTask.js';
import type { WorkerContext } from './workerContext.js';

/** A far-off date for listing every planned restart, due or not. */
const END_OF_TIME = new Date('9999-12-31T00:00:00Z');

export async function carryOutRestart(ctx: WorkerContext, taskId: string): Promise<void> {
  try {
    await ctx.locks.withLock(taskId, () => carryOutRestartLocked(ctx, taskId));
    ctx.restarts.succeeded(taskId);
  } catch (error) {
    ctx.log(`restart of task ${taskId} failed, retrying: ${(error as Error).message}`);
    ctx.restarts.retryLater(taskId);
  }
}

async function carryOutRestartLocked(ctx: WorkerContext, taskId: string): Promise<void> {
  const task = await ctx.tasks.get(taskId);
  if (!task || task.workerId !== ctx.workerId) return;
  // An earlier try moved it to SCHEDULED here but could not start it: start it now.
  if (!task.restart) {
    if (task.state === 'SCHEDULED') await runTaskLocked(ctx, taskId, task.attempt);
    return;
  }
  const wait = Date.parse(task.restart.at) - Date.now();
  if (wait > 0) {
    ctx.restarts.schedule(taskId, wait);
    return;
  }
  // One container per task here: the ended attempts' containers go before the next starts.
  // A drained task's container is the stop path's to remove; it calls again once it has.
  const leftovers = (await ctx.runtime.listTask(taskId)).filter((c) => c.attempt <= task.attempt);
  if (task.state === 'STOPPING' && leftovers.some((c) => c.attempt === task.attempt)) return;
  for (const container of leftovers) await ctx.runtime.stopAndRemove(container.id);

  const outcome = await applyDueRestart(ctx, task, ctx.by, { notifyWorker: false });
  if (outcome.kind === 'in-place' && outcome.task.workerId === ctx.workerId) {
    ctx.log(`task ${taskId}: restarting in place as attempt ${outcome.task.attempt}`);
    await runTaskLocked(ctx, taskId, outcome.task.attempt);
  } else if (outcome.kind === 'rescheduled') {
    ctx.log(`task ${taskId}: handed back for placement as attempt ${outcome.task.attempt}`);
  }
}

/**
 * At start: the timers of restarts planned for this worker's tasks (a crash lost them). The
 * restart index is sparse (only tasks with a planned restart), so this scan stays small.
 */
export async function adoptPlannedRestarts(ctx: WorkerContext): Promise<number> {
  let adopted = 0;
  for (const id of await ctx.tasks.dueRestarts(END_OF_TIME)) {
    if (ctx.restarts.has(id)) continue;
    const task = await ctx.tasks.get(id);
    if (!task?.restart || task.workerId !== ctx.workerId) continue;
    ctx.restarts.schedule(id, Date.parse(task.restart.at) - Date.now());
    adopted++;
  }
  return adopted;
}

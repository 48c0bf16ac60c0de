// A user's stop: the API moved the task to STOPPING; this worker stops and removes the
// container of that attempt, then writes STOPPING -> STOPPED (which releases the capacity).
import { ConflictError } from '../core/errors.js';
import type { WorkerMessage } from '../core/messages.js';
import type { TaskRecord } from '../core/types.js';
import { MAX_CONFLICT_RETRIES, ownsAttempt, type WorkerContext } from './workerContext.js';

export type StopOutcome = 'stopped' | 'obsolete';

export async function handleStop(
  ctx: WorkerContext,
  message: Pick<WorkerMessage, 'taskId' | 'attempt'>,
): Promise<StopOutcome> {
  return ctx.locks.withLock(message.taskId, async () => {
    const task = await ctx.tasks.get(message.taskId);
    if (!ownsAttempt(ctx, task, message.attempt) || task.state !== 'STOPPING') return 'obsolete';
    return stopTaskLocked(ctx, task);
  });
}

/** Finishes a STOPPING task of this worker. The caller holds the task's lock. */
export async function stopTaskLocked(ctx: WorkerContext, task: TaskRecord): Promise<StopOutcome> {
  const attempt = task.attempt;
  let exitCode: number | undefined;
  const container = await ctx.runtime.find(task.id, attempt);
  if (container) {
    await ctx.runtime.stop(container.id);
    exitCode = (await ctx.runtime.inspectExit(container.id))?.exitCode;
    await ctx.runtime.remove(container.id);
  }
  let current: TaskRecord | undefined = task;
  for (let tries = 0; tries <= MAX_CONFLICT_RETRIES; tries++) {
    if (!ownsAttempt(ctx, current, attempt) || current.state !== 'STOPPING') return 'obsolete';
    try {
      await ctx.tasks.transition(current, {
        to: 'STOPPED',
        by: ctx.by,
        reason: current.reason ?? 'stopped',
        ...(exitCode !== undefined ? { patch: { exitCode } } : {}),
      });
      ctx.log(`task ${task.id} attempt ${attempt}: STOPPED`);
      return 'stopped';
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      current = await ctx.tasks.get(task.id);
    }
  }
  throw new ConflictError(`task ${task.id} kept changing while it was being stopped`);
}

// A stop: the API (a user's `cube stop`) or a drain moved the task to STOPPING; this worker
// stops the container of that attempt gracefully (the task's stop signal, then SIGKILL after
// its stop timeout) and removes it. The record stays STOPPING until the container is gone.
// Then a user's stop writes STOPPING -> STOPPED (releasing the capacity), and a drain (the
// STOPPING record carries a planned restart) hands the task back for placement elsewhere.
// A stop message may carry the STOPPING record its sender wrote; it is acted on without a read
// because STOPPING is never undone for an attempt (core's state machine: a task leaves STOPPING
// only to end, or to be placed again as a new attempt), and the write that follows is
// conditional on its version, so a conflict reads the record before anything is recorded.
import { applyDueRestart } from '../../aws/restarts.js';
import { ConflictError } from '../../core/errors.js';
import type { ReceivedWorkerMessage } from '../../core/messages.js';
import type { TaskRecord } from '../../core/types.js';
import { stopTimeoutOf } from '../engine/containerOptions.js';
import { forgetRunning } from './confirmedRunning.js';
import { nudgeService } from './serviceNudge.js';
import {
  carriedOrRead,
  MAX_CONFLICT_RETRIES,
  ownsAttempt,
  type WorkerContext,
} from './workerContext.js';

export type StopOutcome = 'stopped' | 'rescheduled' | 'obsolete';

export async function handleStop(
  ctx: WorkerContext,
  message: Pick<ReceivedWorkerMessage, 'taskId' | 'attempt' | 'record'>,
): Promise<StopOutcome> {
  return ctx.locks.withLock(message.taskId, async () => {
    const { taskId, attempt, record } = message;
    const task = await carriedOrRead(ctx, taskId, attempt, 'STOPPING', record);
    if (!ownsAttempt(ctx, task, attempt) || task.state !== 'STOPPING') return 'obsolete';
    return stopTaskLocked(ctx, task);
  });
}

/** Finishes a STOPPING task of this worker. The caller holds the task's lock. */
export async function stopTaskLocked(ctx: WorkerContext, task: TaskRecord): Promise<StopOutcome> {
  const attempt = task.attempt;
  ctx.health.stop(task.id);
  forgetRunning(ctx, task.id, attempt);
  let exitCode: number | undefined;
  // A record that reached RUNNING names its attempt's container (core clears it for a new
  // attempt): no listing, which walks every container on the engine. One gone already is fine.
  const containerId = task.containerId ?? (await ctx.runtime.find(task.id, attempt))?.id;
  if (containerId) {
    await ctx.runtime.stop(containerId, stopTimeoutOf(task));
    exitCode = (await ctx.runtime.inspectExit(containerId))?.exitCode;
    await ctx.runtime.remove(containerId);
  }
  let current: TaskRecord | undefined = task;
  for (let tries = 0; tries <= MAX_CONFLICT_RETRIES; tries++) {
    if (!ownsAttempt(ctx, current, attempt) || current.state !== 'STOPPING') return 'obsolete';
    if (current.restart) {
      const outcome = await applyDueRestart(ctx, current, ctx.by);
      if (outcome.kind === 'rescheduled' || outcome.kind === 'in-place') {
        ctx.log(`task ${task.id} attempt ${attempt}: drained, ${outcome.task.state} again`);
        return 'rescheduled';
      }
      if (outcome.kind === 'not-due') {
        // The container is gone; the timer hands it back when the drain's restart is due.
        ctx.restarts.schedule(task.id, Date.parse(current.restart.at) - Date.now());
        return 'stopped';
      }
      current = await ctx.tasks.get(task.id);
      continue;
    }
    try {
      const stopped = await ctx.tasks.transition(current, {
        to: 'STOPPED',
        by: ctx.by,
        reason: current.reason ?? 'stopped',
        ...(exitCode !== undefined ? { patch: { exitCode } } : {}),
      });
      nudgeService(ctx, stopped);
      ctx.log(`task ${task.id} attempt ${attempt}: STOPPED`);
      return 'stopped';
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      current = await ctx.tasks.get(task.id);
    }
  }
  throw new ConflictError(`task ${task.id} kept changing while it was being stopped`);
}

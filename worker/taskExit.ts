// Turns a container's exit into the task's final state. The one place an exit becomes a
// record: the run handler, the events stream and the local reconciler all come here, and a
// restart policy (a later issue) hooks in after the FAILED write.
import { ConflictError } from '../core/errors.js';
import type { TaskRecord } from '../core/types.js';
import type { ContainerExit } from './dockerRuntime.js';
import { MAX_CONFLICT_RETRIES, ownsAttempt, type WorkerContext } from './workerContext.js';

export interface ExitOutcome {
  to: 'COMPLETED' | 'FAILED';
  exitCode: number;
  reason?: string;
}

export function exitOutcome(exit: Pick<ContainerExit, 'exitCode' | 'oomKilled'>): ExitOutcome {
  if (exit.oomKilled) {
    return { to: 'FAILED', exitCode: exit.exitCode, reason: 'out of memory (OOM killed)' };
  }
  if (exit.exitCode === 0) return { to: 'COMPLETED', exitCode: 0 };
  return { to: 'FAILED', exitCode: exit.exitCode, reason: `exited with code ${exit.exitCode}` };
}

/**
 * Records the exit of the task's container when the record still says this attempt is
 * STARTING or RUNNING here. Returns the new record, or undefined when the record had moved on
 * (a STOPPING task is the stop path's to finish).
 */
export async function recordExit(
  ctx: WorkerContext,
  task: TaskRecord,
  exit: Pick<ContainerExit, 'exitCode' | 'oomKilled'>,
): Promise<TaskRecord | undefined> {
  const attempt = task.attempt;
  const outcome = exitOutcome(exit);
  let current: TaskRecord | undefined = task;
  for (let tries = 0; tries <= MAX_CONFLICT_RETRIES; tries++) {
    if (!ownsAttempt(ctx, current, attempt)) return undefined;
    if (current.state !== 'STARTING' && current.state !== 'RUNNING') return undefined;
    try {
      const after = await ctx.tasks.transition(current, {
        to: outcome.to,
        by: ctx.by,
        patch: { exitCode: outcome.exitCode },
        ...(outcome.reason ? { reason: outcome.reason } : {}),
      });
      ctx.log(
        `task ${task.id} attempt ${attempt}: ${outcome.to}` +
          (outcome.reason ? ` (${outcome.reason})` : ''),
      );
      return after;
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      current = await ctx.tasks.get(task.id);
    }
  }
  throw new ConflictError(`task ${task.id} kept changing while its exit was recorded`);
}

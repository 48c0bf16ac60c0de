// Turns the end of a task's container into the task's final state, and asks its restart
// policy what comes next. The one place an end becomes a record: the run handler, the events
// stream, the local reconciler and the health checks all come here. A planned restart is
// written with the FAILED/COMPLETED move and carried out by a timer after its backoff.
import { ConflictError } from '../../core/errors.js';
import {
  decideRestart,
  type RestartCause,
  type RestartDecision,
  restartPatch,
} from '../../core/restartPolicy.js';
import type { TaskRecord, TaskState } from '../../core/types.js';
import type { ContainerExit } from '../engine/containerRuntime.js';
import { forgetRunning } from './confirmedRunning.js';
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

/** How a task's attempt ended, as the worker saw it. */
export interface TaskEnd {
  to: 'COMPLETED' | 'FAILED';
  exitCode?: number;
  cause: Exclude<RestartCause, { kind: 'lost' }>;
  /** What happened, in words; default: the restart policy's own description of the cause. */
  what?: string;
  patch?: Pick<TaskRecord, 'health'>;
}

/** The reason written with the end: what happened, then what the policy does about it. */
export function endReason(end: TaskEnd, decision: RestartDecision): string | undefined {
  if (end.to === 'COMPLETED' && !decision.restart) return end.what;
  if (end.what === undefined) return decision.reason;
  return [end.what, ...decision.reason.split('; ').slice(1)].join('; ');
}

/** Records a container's exit (see recordEnd). */
export function recordExit(
  ctx: WorkerContext,
  task: TaskRecord,
  exit: Pick<ContainerExit, 'exitCode' | 'oomKilled'>,
): Promise<TaskRecord | undefined> {
  const outcome = exitOutcome(exit);
  return recordEnd(ctx, task, {
    to: outcome.to,
    exitCode: outcome.exitCode,
    cause: { kind: 'exit', exitCode: outcome.exitCode },
    ...(outcome.reason ? { what: outcome.reason } : {}),
  });
}

const ENDABLE: readonly TaskState[] = ['STARTING', 'RUNNING'];

/**
 * Records the end of the task's attempt when the record still says this attempt is STARTING
 * or RUNNING here, with the restart its policy plans. Returns the new record, or undefined
 * when the record had moved on (a STOPPING task is the stop path's to finish).
 */
export async function recordEnd(
  ctx: WorkerContext,
  task: TaskRecord,
  end: TaskEnd,
): Promise<TaskRecord | undefined> {
  const attempt = task.attempt;
  let current: TaskRecord | undefined = task;
  for (let tries = 0; tries <= MAX_CONFLICT_RETRIES; tries++) {
    if (!ownsAttempt(ctx, current, attempt) || !ENDABLE.includes(current.state)) return undefined;
    const decision = decideRestart(current, end.cause, ctx.restartSettings);
    const reason = endReason(end, decision);
    try {
      const after = await ctx.tasks.transition(current, {
        to: end.to,
        by: ctx.by,
        patch: {
          ...end.patch,
          ...(end.exitCode !== undefined ? { exitCode: end.exitCode } : {}),
          ...restartPatch(decision),
        },
        ...(reason !== undefined ? { reason } : {}),
      });
      ctx.health.stop(task.id);
      forgetRunning(ctx, task.id, attempt);
      ctx.log(`task ${task.id} attempt ${attempt}: ${end.to}${reason ? ` (${reason})` : ''}`);
      if (decision.restart) ctx.restarts.schedule(task.id, decision.delayMs);
      return after;
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      current = await ctx.tasks.get(task.id);
    }
  }
  throw new ConflictError(`task ${task.id} kept changing while its end was recorded`);
}

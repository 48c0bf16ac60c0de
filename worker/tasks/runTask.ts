// A run message: start the container of one attempt of a task, exactly once. The record
// decides (this worker, this attempt, SCHEDULED or an interrupted STARTING); the task lock
// stops a second copy of the message in this process; a container already labelled with the
// task and attempt is adopted instead of creating another. The claim (SCHEDULED -> STARTING)
// starts from the record the message carries, if any: the write is conditional on its
// version, so it succeeds only while that copy is the record, and a conflict reads the record.

import { taskEndpoints } from '../../core/endpoints.js';
import { ConflictError } from '../../core/errors.js';
import type { ReceivedWorkerMessage } from '../../core/messages.js';
import type { TaskEndpoint, TaskRecord } from '../../core/types.js';
import { stopTimeoutOf } from '../engine/containerOptions.js';
import { dockerErrorMessage, ImageUnavailableError } from '../engine/dockerRuntime.js';
import { admissionProblem } from './admission.js';
import { confirmRunning } from './confirmedRunning.js';
import { SecretUnavailableError } from './secrets.js';
import { nudgeService } from './serviceNudge.js';
import { stopTaskLocked } from './stopTask.js';
import { recordEnd, recordExit } from './taskExit.js';
import {
  carriedOrRead,
  MAX_CONFLICT_RETRIES,
  ownsAttempt,
  type WorkerContext,
} from './workerContext.js';

export type RunOutcome =
  /** A container was created (or adopted) and the task is RUNNING. */
  | 'running'
  /** The container ended before RUNNING was written; its exit is recorded. */
  | 'exited'
  /** The container could not be created or started; the task is FAILED. */
  | 'failed'
  /** The record no longer asks this worker to run this attempt. */
  | 'obsolete'
  /** Unsigned, altered or misaddressed, or against this host's policy: FAILED, nothing made. */
  | 'refused'
  /** Another copy of the message is being handled in this process right now. */
  | 'duplicate';

export async function handleRun(
  ctx: WorkerContext,
  message: Pick<ReceivedWorkerMessage, 'taskId' | 'attempt' | 'record'>,
): Promise<RunOutcome> {
  const outcome = await ctx.locks.tryWithLock(message.taskId, () =>
    runTaskLocked(ctx, message.taskId, message.attempt, message.record),
  );
  return outcome ?? 'duplicate';
}

/** The run handling proper. The caller holds the task's lock. */
export async function runTaskLocked(
  ctx: WorkerContext,
  taskId: string,
  attempt: number,
  carried?: TaskRecord,
): Promise<RunOutcome> {
  const claim = await claimStart(ctx, taskId, attempt, carried);
  if (!claim) return 'obsolete';
  if (claim === 'refused') return 'refused';
  const { task, resumed } = claim;
  ctx.onWork?.();

  let containerId: string;
  try {
    // A first attempt this worker just claimed has no container anywhere yet (containers are
    // made only after STARTING): skip listing, which costs a scan of all the engine's
    // containers. Otherwise one container per task here: an earlier attempt's (a restart, a
    // task given back after this worker was thought lost) goes before the new one starts.
    const mine = attempt === 1 && !resumed ? [] : await ctx.runtime.listTask(taskId);
    for (const old of mine) {
      if (old.attempt < attempt) await ctx.runtime.stopAndRemove(old.id, stopTimeoutOf(task));
    }
    const existing = mine.find((c) => c.attempt === attempt);
    if (existing) {
      containerId = existing.id;
      ctx.log(`task ${taskId} attempt ${attempt}: adopting container ${containerId.slice(0, 12)}`);
      if (existing.state === 'created') await ctx.runtime.start(containerId);
    } else {
      // Read now, with this host's credentials; held only until the container has them.
      const secretEnv = task.spec.secrets?.length
        ? await ctx.secrets.resolve(task.spec.secrets)
        : undefined;
      const made = await ctx.runtime.createAndStart(task, secretEnv);
      containerId = made.containerId;
      if (made.adopted) ctx.log(`task ${taskId} attempt ${attempt}: adopted existing container`);
    }
  } catch (error) {
    const reason =
      error instanceof ImageUnavailableError || error instanceof SecretUnavailableError
        ? error.message
        : dockerErrorMessage(error);
    // Leave nothing half-made behind: a container that never ran would block the name.
    const leftover = await ctx.runtime.find(taskId, attempt).catch(() => undefined);
    if (leftover) await ctx.runtime.remove(leftover.id).catch(() => {});
    await failStart(ctx, task, reason);
    return 'failed';
  }

  const exit = await ctx.runtime.inspectExit(containerId);
  if (!exit) {
    await failStart(ctx, task, `container ${containerId.slice(0, 12)} disappeared while starting`);
    return 'failed';
  }
  if (!exit.running && !exit.neverStarted) {
    const after = await recordExit(ctx, task, exit);
    if (after) await ctx.runtime.remove(containerId);
    else await settleAfterConflict(ctx, taskId, attempt, containerId);
    return 'exited';
  }
  return markRunning(ctx, task, containerId, taskEndpoints(task.spec, exit.bound));
}

/**
 * SCHEDULED -> STARTING, or an interrupted STARTING taken up again (`resumed`). A carried
 * SCHEDULED record is tried first; only the record read from the table may resume STARTING.
 * Either must pass admission (signed for this worker, within this host's policy) first; a
 * carried copy that does not is set aside for the table's record, which is refused if it
 * does not either.
 */
async function claimStart(
  ctx: WorkerContext,
  taskId: string,
  attempt: number,
  carried?: TaskRecord,
): Promise<{ task: TaskRecord; resumed: boolean } | 'refused' | undefined> {
  let task = await carriedOrRead(ctx, taskId, attempt, 'SCHEDULED', carried);
  let fromTable = task !== carried;
  for (let tries = 0; tries <= MAX_CONFLICT_RETRIES; tries++) {
    if (!ownsAttempt(ctx, task, attempt)) return undefined;
    if (task.state !== 'STARTING' && task.state !== 'SCHEDULED') return undefined;
    const problem = admissionProblem(ctx, task);
    if (problem && !fromTable) {
      task = await ctx.tasks.get(taskId);
      fromTable = true;
      continue;
    }
    if (problem) return (await refuse(ctx, task, problem)) ? 'refused' : undefined;
    // STARTING with the lock free: a crash between STARTING and the container's start.
    if (task.state === 'STARTING') return { task, resumed: true };
    try {
      return { task: await ctx.tasks.claim(task, ctx.by), resumed: false };
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      task = await ctx.tasks.get(taskId);
      fromTable = true;
    }
  }
  throw new ConflictError(`task ${taskId} kept changing while this worker claimed it`);
}

/**
 * Fails a task this worker will not run, with the reason, and plans no restart: the same
 * placement would be refused again. False when the record moved on meanwhile.
 */
async function refuse(ctx: WorkerContext, task: TaskRecord, reason: string): Promise<boolean> {
  ctx.log(`task ${task.id} attempt ${task.attempt}: refused: ${reason}`);
  try {
    await ctx.tasks.transition(task, { to: 'FAILED', by: ctx.by, reason });
    return true;
  } catch (error) {
    if (error instanceof ConflictError) return false;
    throw error;
  }
}

/** STARTING -> RUNNING, with the host ports the engine bound (read by the inspect before). */
async function markRunning(
  ctx: WorkerContext,
  task: TaskRecord,
  containerId: string,
  endpoints: TaskEndpoint[],
): Promise<RunOutcome> {
  let current: TaskRecord | undefined = task;
  for (let tries = 0; tries <= MAX_CONFLICT_RETRIES; tries++) {
    if (!ownsAttempt(ctx, current, task.attempt) || current.state !== 'STARTING') {
      await settleAfterConflict(ctx, task.id, task.attempt, containerId);
      return 'obsolete';
    }
    try {
      const running = await ctx.tasks.transition(current, {
        to: 'RUNNING',
        by: ctx.by,
        patch: { containerId, ...(endpoints.length > 0 ? { endpoints } : {}) },
      });
      ctx.health.ensure(running, containerId);
      confirmRunning(ctx, task.id, task.attempt, containerId);
      nudgeService(ctx, running, running.spec.healthCheck ? undefined : running.startedAt);
      ctx.log(`task ${task.id} attempt ${task.attempt}: RUNNING in ${containerId.slice(0, 12)}`);
      return 'running';
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      current = await ctx.tasks.get(task.id);
    }
  }
  throw new ConflictError(`task ${task.id} kept changing while it was marked RUNNING`);
}

/**
 * The record moved on while the container was being started: a stop finishes the stop; any
 * other change (another attempt, another worker, a final state) makes the container an orphan.
 */
async function settleAfterConflict(
  ctx: WorkerContext,
  taskId: string,
  attempt: number,
  containerId: string,
): Promise<void> {
  const task = await ctx.tasks.get(taskId);
  if (ownsAttempt(ctx, task, attempt)) {
    if (task.state === 'STOPPING') {
      await stopTaskLocked(ctx, task);
      return;
    }
    if (task.state === 'RUNNING' && task.containerId === containerId) return;
  }
  ctx.log(`task ${taskId} attempt ${attempt}: record moved on, removing its container`);
  await ctx.runtime.stopAndRemove(containerId);
}

/** STARTING -> FAILED with the reason the container could not run; its policy may retry. */
async function failStart(ctx: WorkerContext, task: TaskRecord, reason: string): Promise<void> {
  await recordEnd(ctx, task, { to: 'FAILED', cause: { kind: 'start-failed' }, what: reason });
}

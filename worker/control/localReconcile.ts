// What this worker runs vs what the records say, repaired from this side: orphans removed
// (the containers of tasks the control plane took away, e.g. while this worker was DOWN),
// exits and starts that were missed recorded, lost run messages and stops redone, health
// probes resumed for adopted containers. A full pass (start, and whenever the worker gets
// back in touch with Docker or the control plane) reads every record involved, including a
// Query of the tasks table. The periodic pass (every ~15 s) is light: Docker's list, and a
// record read only for a container not yet seen running under its record, or one that ended
// or vanished; lost run and stop messages are re-sent by the control plane's reconciler. An
// idle worker's periodic pass costs no AWS request at all (it used to Query 4 states).
import { taskEndpoints } from '../../core/endpoints.js';
import { ConflictError } from '../../core/errors.js';
import type { TaskRecord } from '../../core/types.js';
import { stopTimeoutOf } from '../engine/containerOptions.js';
import type { CubeContainer } from '../engine/containerRuntime.js';
import { confirmedKey, confirmedOf, setConfirmed } from '../tasks/confirmedRunning.js';
import { runTaskLocked } from '../tasks/runTask.js';
import { stopTaskLocked } from '../tasks/stopTask.js';
import { recordEnd, recordExit } from '../tasks/taskExit.js';
import { CONTAINER_STATES, ownsAttempt, type WorkerContext } from '../tasks/workerContext.js';

export interface LocalReconcileReport {
  orphansRemoved: number;
  markedRunning: number;
  exitsRecorded: number;
  stopsFinished: number;
  runsStarted: number;
  /** RUNNING tasks whose container vanished (removed by hand, engine reset). */
  vanished: number;
}

export const DEFAULT_RECONCILE_INTERVAL_MS = 15_000;

const keyOf = confirmedKey;

/** The periodic pass: Docker first, the records only where Docker shows a change. */
export async function reconcileLocalLight(ctx: WorkerContext): Promise<LocalReconcileReport> {
  const confirmed = confirmedOf(ctx);
  if (!confirmed) return reconcileLocal(ctx);
  const report = emptyReport();
  const containers = await ctx.runtime.listOwn();
  const present = new Set<string>();
  for (const container of containers) {
    const key = keyOf(container.taskId, container.attempt);
    present.add(key);
    if (container.state === 'running' && confirmed.get(key) === container.id) continue;
    await ctx.locks.tryWithLock(container.taskId, async () => {
      confirmed.delete(key);
      if (await reconcileContainer(ctx, container, report)) confirmed.set(key, container.id);
    });
  }
  // Seen running before, gone now: its exit was handled, or the container vanished.
  for (const key of [...confirmed.keys()]) {
    if (present.has(key)) continue;
    confirmed.delete(key);
    const [id, attempt] = key.split('/') as [string, string];
    await ctx.locks.tryWithLock(id, () =>
      reconcileTaskWithoutContainer(ctx, { id, attempt: Number(attempt) }, report),
    );
  }
  return report;
}

const emptyReport = (): LocalReconcileReport => ({
  orphansRemoved: 0,
  markedRunning: 0,
  exitsRecorded: 0,
  stopsFinished: 0,
  runsStarted: 0,
  vanished: 0,
});

export async function reconcileLocal(ctx: WorkerContext): Promise<LocalReconcileReport> {
  const report = emptyReport();
  // Records first, containers second: a container made after the records were read is
  // listed anyway, so no task is ever judged to have lost a container it just got.
  // This worker's tasks only (the (worker, state) index), whatever the cluster holds.
  const assigned = await ctx.tasks.listByWorker(ctx.workerId, [
    'SCHEDULED',
    'STARTING',
    'RUNNING',
    'STOPPING',
  ]);
  const containers = await ctx.runtime.listOwn();

  const confirmed = new Map<string, string>();
  for (const container of containers) {
    // A busy task is being handled right now; the next pass looks again.
    await ctx.locks.tryWithLock(container.taskId, async () => {
      if (await reconcileContainer(ctx, container, report)) {
        confirmed.set(keyOf(container.taskId, container.attempt), container.id);
      }
    });
  }
  setConfirmed(ctx, confirmed);

  const withContainer = new Set(containers.map((c) => `${c.taskId}/${c.attempt}`));
  for (const task of assigned) {
    if (withContainer.has(`${task.id}/${task.attempt}`)) continue;
    await ctx.locks.tryWithLock(task.id, () => reconcileTaskWithoutContainer(ctx, task, report));
  }
  return report;
}

/** True when the container runs under its RUNNING record (nothing to look at next time). */
async function reconcileContainer(
  ctx: WorkerContext,
  container: CubeContainer,
  report: LocalReconcileReport,
): Promise<boolean> {
  const task = await ctx.tasks.get(container.taskId);
  if (!ownsAttempt(ctx, task, container.attempt) || !CONTAINER_STATES.has(task.state)) {
    ctx.log(
      `removing orphan container ${container.id.slice(0, 12)} ` +
        `(task ${container.taskId} attempt ${container.attempt}: ${task?.state ?? 'no record'})`,
    );
    // Gracefully, as the task asked: it may be another worker's task now, but this copy
    // still deserves its stop signal.
    await ctx.runtime.stopAndRemove(container.id, task ? stopTimeoutOf(task) : undefined);
    report.orphansRemoved++;
    return false;
  }
  if (task.state === 'STOPPING') {
    if ((await stopTaskLocked(ctx, task)) === 'stopped') report.stopsFinished++;
    return false;
  }
  const exit = await ctx.runtime.inspectExit(container.id);
  if (!exit) return false;
  if (exit.neverStarted) {
    // Created, never started: the worker stopped between the two. Finish the start.
    if (task.state === 'STARTING') {
      await runTaskLocked(ctx, task.id, task.attempt);
      report.runsStarted++;
    }
    return false;
  }
  if (exit.running) {
    if (task.state === 'STARTING') {
      try {
        const endpoints = taskEndpoints(task.spec, exit.bound);
        const running = await ctx.tasks.transition(task, {
          to: 'RUNNING',
          by: ctx.by,
          patch: { containerId: container.id, ...(endpoints.length > 0 ? { endpoints } : {}) },
        });
        report.markedRunning++;
        ctx.health.ensure(running, container.id);
        return true;
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
        return false;
      }
    }
    ctx.health.ensure(task, container.id);
    return task.state === 'RUNNING';
  }
  if (await recordExit(ctx, task, exit)) {
    report.exitsRecorded++;
    await ctx.runtime.remove(container.id);
  }
  return false;
}

async function reconcileTaskWithoutContainer(
  ctx: WorkerContext,
  listed: Pick<TaskRecord, 'id' | 'attempt'>,
  report: LocalReconcileReport,
): Promise<void> {
  const task = await ctx.tasks.get(listed.id);
  if (!ownsAttempt(ctx, task, listed.attempt)) return;
  // Re-check under the lock: the container may have been made since the listing.
  if (await ctx.runtime.find(task.id, task.attempt)) return;
  switch (task.state) {
    case 'SCHEDULED':
    case 'STARTING': {
      const outcome = await runTaskLocked(ctx, task.id, task.attempt);
      if (outcome !== 'obsolete' && outcome !== 'refused') report.runsStarted++;
      return;
    }
    case 'STOPPING':
      if ((await stopTaskLocked(ctx, task)) === 'stopped') report.stopsFinished++;
      return;
    case 'RUNNING': {
      // A failure like any other (no exit code known): its restart policy decides.
      const ended = await recordEnd(ctx, task, {
        to: 'FAILED',
        cause: { kind: 'exit', exitCode: -1 },
        what: `container ${task.containerId?.slice(0, 12) ?? ''} disappeared from the worker`,
      });
      if (ended) report.vanished++;
      return;
    }
    default:
      return;
  }
}

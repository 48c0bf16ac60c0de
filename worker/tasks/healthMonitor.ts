// The probe loop of each RUNNING task with a health check. The record is written only when
// the status changes (each write costs a request): healthy once a probe passes, unhealthy
// after `retries` failures in a row once the start period is over (failures inside it do not
// count; a pass ends it early, as Docker does). An unhealthy task is stopped gracefully and
// recorded FAILED with cause `unhealthy`, so its restart policy decides what comes next.
import { ConflictError } from '../../core/errors.js';
import type { HealthCheckSpec, HealthStatus, TaskHealth, TaskRecord } from '../../core/types.js';
import { stopTimeoutOf } from '../engine/containerOptions.js';
import { probe } from '../engine/healthChecks.js';
import { sleep } from '../timing.js';
import { nudgeService } from './serviceNudge.js';
import { recordEnd } from './taskExit.js';
import {
  type HealthProbes,
  MAX_CONFLICT_RETRIES,
  ownsAttempt,
  type WorkerContext,
} from './workerContext.js';

interface Watch {
  attempt: number;
  controller: AbortController;
}

export class HealthMonitors implements HealthProbes {
  private readonly watches = new Map<string, Watch>();
  private closed = false;

  constructor(
    private readonly ctx: WorkerContext,
    private readonly track: (work: Promise<unknown>, what: string) => void,
  ) {}

  isWatching(taskId: string, attempt: number): boolean {
    return this.watches.get(taskId)?.attempt === attempt;
  }

  /** Starts probing the task's attempt if it has a health check and is not probed yet. */
  ensure(task: TaskRecord, containerId: string): void {
    const check = task.spec.healthCheck;
    if (!check || this.closed || this.isWatching(task.id, task.attempt)) return;
    this.stop(task.id);
    const watch: Watch = { attempt: task.attempt, controller: new AbortController() };
    this.watches.set(task.id, watch);
    const work = this.watch(task, containerId, check, watch.controller.signal).finally(() => {
      if (this.watches.get(task.id) === watch) this.watches.delete(task.id);
    });
    this.track(work, `health checks of task ${task.id}`);
  }

  stop(taskId: string): void {
    this.watches.get(taskId)?.controller.abort();
    this.watches.delete(taskId);
  }

  stopAll(): void {
    this.closed = true;
    for (const taskId of [...this.watches.keys()]) this.stop(taskId);
  }

  private async watch(
    task: TaskRecord,
    containerId: string,
    check: HealthCheckSpec,
    signal: AbortSignal,
  ): Promise<void> {
    const startedMs = Date.parse(task.startedAt ?? '') || Date.now();
    // An adopted task (worker restart) carries on from what its record says.
    let recorded: HealthStatus = task.health?.status ?? 'starting';
    let status = recorded;
    let streak = task.health?.failingStreak ?? 0;
    let startPeriodOver = status !== 'starting';
    while (!signal.aborted) {
      await sleep(check.intervalSeconds * 1000, signal);
      if (signal.aborted) return;
      const result = await probe(this.ctx.runtime, task, containerId, check);
      if (signal.aborted) return;
      if (result.ok) {
        streak = 0;
        startPeriodOver = true;
        status = 'healthy';
      } else if (startPeriodOver || Date.now() >= startedMs + check.startPeriodSeconds * 1000) {
        startPeriodOver = true;
        streak++;
        if (streak >= check.retries) status = 'unhealthy';
      }
      const health: TaskHealth = {
        status,
        failingStreak: streak,
        checkedAt: new Date().toISOString(),
        output: result.output,
      };
      if (status === 'unhealthy') {
        this.ctx.log(`task ${task.id} attempt ${task.attempt}: unhealthy (${result.output})`);
        await failUnhealthy(this.ctx, task.id, task.attempt, health);
        return;
      }
      // A failed write (control plane unreachable) is tried again after the next probe.
      if (status !== recorded) {
        const written = await writeHealth(this.ctx, task.id, task.attempt, health).catch(
          (error: Error) => {
            this.ctx.log(`recording health of task ${task.id} failed: ${error.message}`);
            return undefined;
          },
        );
        if (written === false) return;
        if (written) recorded = status;
      }
    }
  }
}

/**
 * Writes the task's health while this attempt is RUNNING here. True when written, false when
 * the record moved on (the probing should stop).
 */
async function writeHealth(
  ctx: WorkerContext,
  taskId: string,
  attempt: number,
  health: TaskHealth,
): Promise<boolean> {
  for (let tries = 0; tries <= MAX_CONFLICT_RETRIES; tries++) {
    const task = await ctx.tasks.get(taskId);
    if (!ownsAttempt(ctx, task, attempt) || task.state !== 'RUNNING') return false;
    try {
      await ctx.tasks.noteHealth(task, health);
      if (health.status === 'healthy') nudgeService(ctx, task, health.checkedAt);
      ctx.log(`task ${taskId} attempt ${attempt}: ${health.status}`);
      return true;
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
    }
  }
  throw new ConflictError(`task ${taskId} kept changing while its health was recorded`);
}

/** Shows the task unhealthy, stops its container gracefully and records the failure. */
async function failUnhealthy(
  ctx: WorkerContext,
  taskId: string,
  attempt: number,
  health: TaskHealth,
): Promise<void> {
  await ctx.locks.withLock(taskId, async () => {
    const task = await ctx.tasks.get(taskId);
    if (!ownsAttempt(ctx, task, attempt) || task.state !== 'RUNNING') return;
    // Unhealthy shows while the container takes its stop timeout to go.
    const shown = await ctx.tasks.noteHealth(task, health).catch(() => task);
    const container = await ctx.runtime.find(taskId, attempt);
    let exitCode: number | undefined;
    if (container) {
      await ctx.runtime.stop(container.id, stopTimeoutOf(task));
      exitCode = (await ctx.runtime.inspectExit(container.id))?.exitCode;
    }
    const ended = await recordEnd(ctx, shown, {
      to: 'FAILED',
      cause: { kind: 'unhealthy' },
      what: `failed its health check ${health.failingStreak} times (${health.output ?? ''})`,
      ...(exitCode !== undefined ? { exitCode } : {}),
      patch: { health },
    });
    if (ended && container) await ctx.runtime.remove(container.id);
  });
}

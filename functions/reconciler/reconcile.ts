// One reconciliation sweep:
// - workers silent for longer than the heartbeat TTL (or 3 intervals they declared: idle
//   workers beat once a minute) are marked DOWN; so is an idle worker that has not beaten
//   since a task was placed on it (a live one wakes and beats at once); tasks held by a DOWN
//   or vanished worker become LOST and are rescheduled by their policy;
// - planned restarts that are overdue (their worker died before doing them) are carried out;
// - SCHEDULED tasks no worker picked up get their run message again (if it may have been lost:
//   core/runResend.ts), STOPPING ones their stop message, by the same rule (workers no longer
//   list the tasks table on every local pass);
// - SCHEDULED, STARTING and STOPPING tasks a live worker holds past a bound end with a reason
//   (core/stuckTasks.ts);
// - PENDING tasks get a fresh schedule nudge (a lost nudge, or room that has freed up).
// Reading every STARTING and RUNNING task costs O(running tasks) on each sweep (bench:
// throughput, 1,000 tasks: a 1 MB Query every 5 s; in AWS ~1,250 read units a sweep at 10,000
// tasks), yet they only need looking at when their worker is gone. So a sweep reads them when
// a DOWN worker still holds tasks (its record counts them), and in full once a minute (for
// a worker whose record vanished); STOPPING tasks, few and short-lived, every time; SCHEDULED
// ones every time too, but only those old enough that their workers' state can make them need
// anything (core/runResend.ts `scheduledWorthReading`: in a burst, none of the backlog).
// Items of an older shape get what the history indexes and TTL need, one bounded page per table
// a sweep until a pass finds every table done (aws/backfill.ts).
// Sweeps read tasks as briefs (no spec: a backlog of hundreds of SCHEDULED tasks was read whole
// every 5 s); the few a sweep acts on are read whole, and act only if the record still says so.
import { applyDueRestart } from '../../aws/restarts.js';
import type { TaskBrief } from '../../aws/taskStore.js';
import { ConflictError } from '../../core/errors.js';
import { heartbeatTtlFor } from '../../core/heartbeat.js';
import { olderDaemonsRun } from '../../core/history/backfill.js';
import { decideRestart, restartPatch } from '../../core/restartPolicy.js';
import {
  placementUnanswered,
  runMessageOverdue,
  scheduledWorthReading,
  stopMessageOverdue,
} from '../../core/runResend.js';
import { stuckVerdict } from '../../core/stuckTasks.js';
import type { TaskRecord, WorkerRecord } from '../../core/types.js';
import type { Deps } from '../shared/deps.js';
import { noteWorkerEvent } from '../shared/workerLifecycle.js';
import { removeExpiredWorkers } from './removeExpiredWorkers.js';
import { settleStuck } from './stuck.js';

/** Leave fresh submissions to their own nudge. */
const PENDING_GRACE_MS = 5_000;
/**
 * A PENDING task is nudged again at most this often: a nudge already queued (the scheduling
 * queue's visibility timeout is 30 s) must not be joined by one per sweep, or a backlog of
 * pending tasks floods the scheduler with copies.
 */
const PENDING_RENUDGE_MS = 30_000;
/** Tasks nudged per sweep at most; the rest wait for the next sweep. */
const PENDING_NUDGES_PER_SWEEP = 200;
/** taskId -> when this process last nudged it (module state: survives warm invocations). */
const lastNudged = new Map<string, number>();
/** A worker carries out its own restarts after their backoff; step in only when it did not. */
const RESTART_GRACE_MS = 5_000;
const BY = 'reconciler';
/**
 * A sweep whose own read of the workers took longer than this marks no worker DOWN: the store
 * is overloaded, and the workers' heartbeat writes are most likely as late as that read
 * (bench:throughput on an emulator at load average 40-50: live workers taken for lost). Their
 * silence then says nothing about them; the next sweep with a healthy store decides. A
 * DynamoDB read of even 2,000 workers takes well under this.
 */
const SLOW_STORE_MS = 2_000;
/**
 * After a slow read, the heartbeats the stall held up still have to land: DOWN decisions wait
 * this much past one busy heartbeat interval. bench:throughput at load average ~130 (2026-12-06):
 * the emulator stalled ~10 s, the next sweep's read was quick again, and 7 of 10 live workers,
 * their last beats 9.7 s old and the next ones still on their way, were marked DOWN at once.
 */
const CATCH_UP_MARGIN_MS = 1_000;
/** Until when (this process's clock) DOWN decisions wait for delayed heartbeats to land. */
let catchUpUntil = Number.NEGATIVE_INFINITY;
/** Every STARTING and RUNNING task is read at least this often. */
const FULL_SWEEP_MS = 60_000;
/** When this process last read them all (module state: survives warm invocations). */
let lastFullSweep = Number.NEGATIVE_INFINITY;

export interface ReconcileReport {
  workersDown: number;
  tasksLost: number;
  restarted: number;
  runResent: number;
  stopResent: number;
  pendingNudged: number;
  /** Tasks a live worker held past their state's bound (core/stuckTasks.ts). */
  stuck: number;
  /** Items (or whole reads) that threw this sweep: logged, counted, skipped. */
  failed: number;
  /** DOWN workers past the retention, removed with their queues. */
  workersRemoved: number;
  /** Items of an older shape given the history attributes they lacked. */
  backfilled: number;
}

export interface ReconcileOptions {
  now?: Date;
  /**
   * False right after the reconciler itself could not reach AWS: workers were cut off too,
   * and deserve a heartbeat TTL to report back before they are declared DOWN.
   */
  mayMarkDown?: boolean;
  /** Look at the workers only, unless one is found DOWN holding tasks (the handler's choice). */
  workersOnly?: boolean;
}

export async function reconcile(
  deps: Deps,
  options: ReconcileOptions = {},
): Promise<ReconcileReport> {
  const now = options.now ?? new Date();
  const report: ReconcileReport = {
    workersDown: 0,
    tasksLost: 0,
    restarted: 0,
    runResent: 0,
    stopResent: 0,
    pendingNudged: 0,
    stuck: 0,
    failed: 0,
    workersRemoved: 0,
    backfilled: 0,
  };
  // Only a failed read of the workers throws out of the sweep: without it no DOWN decision can
  // be made. Everything after is isolated per item, so one bad item never blinds the rest.
  const isolated = isolate(report);
  const reading = Date.now();
  const listed = await deps.workers.list();
  const readMs = Date.now() - reading;
  let mayMarkDown = options.mayMarkDown ?? true;
  if (readMs > SLOW_STORE_MS) {
    catchUpUntil = Date.now() + deps.config.heartbeatIntervalMs + CATCH_UP_MARGIN_MS;
  }
  if (mayMarkDown && Date.now() < catchUpUntil) {
    mayMarkDown = false;
    console.log(
      readMs > SLOW_STORE_MS
        ? `reconciler: reading the workers took ${readMs} ms; marking none DOWN this sweep`
        : 'reconciler: the store was slow a moment ago; marking none DOWN until delayed heartbeats land',
    );
  }
  const workers = await markSilentWorkersDown(deps, listed, now, report, mayMarkDown);
  const downWithTasks = [...workers.values()].some(
    (w) => w.state === 'DOWN' && w.allocated.tasks > 0,
  );
  if (options.workersOnly && !downWithTasks) return report;
  const full = downWithTasks || now.getTime() - lastFullSweep >= FULL_SWEEP_MS;
  const scheduledUpTo = full
    ? undefined
    : scheduledWorthReading(workers.values(), now, deps.config.scheduledResendMs);
  // The reads at once: a sweep that found a worker DOWN is the start of its tasks' recovery.
  const [scheduled, stopping, running] = await Promise.all([
    isolated('reading SCHEDULED tasks', () =>
      deps.tasks.listBriefByState(['SCHEDULED'], scheduledUpTo),
    ),
    isolated('reading STOPPING tasks', () => deps.tasks.listBriefByState(['STOPPING'])),
    full
      ? isolated('reading STARTING and RUNNING tasks', () =>
          deps.tasks.listBriefByState(['STARTING', 'RUNNING']),
        )
      : undefined,
  ]);
  const unsettled = [...(scheduled ?? []), ...(stopping ?? [])];
  if (mayMarkDown) {
    await markUnresponsiveWorkersDown(deps, unsettled, workers, now, report);
  }
  // A failed read leaves the full sweep due: the next sweep tries again.
  if (running) lastFullSweep = now.getTime();
  const held = [...unsettled, ...(running ?? [])];
  await forEachAtOnce(held, SETTLE_CONCURRENCY, (task) =>
    isolated(`task ${task.id}`, () => settleHeld(deps, task, workers, now, report)),
  );

  const due =
    (await isolated('reading due restarts', () =>
      deps.tasks.dueRestarts(new Date(now.getTime() - RESTART_GRACE_MS)),
    )) ?? [];
  for (const id of due) {
    await isolated(`restart of task ${id}`, async () => {
      const task = await deps.tasks.get(id);
      // A drained STOPPING task is moved on by its worker once the container is gone.
      if (!task || task.state === 'STOPPING') return;
      const outcome = await applyDueRestart(deps, task, BY, { now, notifyWorker: true });
      if (outcome.kind === 'in-place' || outcome.kind === 'rescheduled') report.restarted++;
    });
  }

  report.workersRemoved = await removeExpiredWorkers(deps, workers.values(), now);

  const { backfill } = deps;
  if (backfill && !backfill.done) {
    const step = await isolated('backfilling old items', () =>
      backfill.step(olderDaemonsRun(workers.values())),
    );
    report.backfilled = step?.patched ?? 0;
    for (const table of step?.finished ?? []) {
      console.log(`reconciler: every item of the ${table} table has its history attributes`);
    }
  }

  const pending = await isolated('reading PENDING tasks', () =>
    deps.tasks.listBriefByState(['PENDING']),
  );
  if (!pending) return report;
  const stillPending = new Set(pending.map((t) => t.id));
  for (const id of lastNudged.keys()) if (!stillPending.has(id)) lastNudged.delete(id);
  for (const task of pending) {
    if (report.pendingNudged >= PENDING_NUDGES_PER_SWEEP) break;
    if (age(task.updatedAt, now) < PENDING_GRACE_MS) continue;
    if (now.getTime() - (lastNudged.get(task.id) ?? 0) < PENDING_RENUDGE_MS) continue;
    await isolated(`nudge of task ${task.id}`, async () => {
      await deps.queues.sendSchedule({ kind: 'schedule', taskId: task.id, attempt: task.attempt });
      lastNudged.set(task.id, now.getTime());
      report.pendingNudged++;
    });
  }
  return report;
}

/** Tasks settled at once: a lost worker's tasks are moved in parallel, not one by one. */
const SETTLE_CONCURRENCY = 8;

/** `work` on every item, at most `limit` at a time. */
async function forEachAtOnce<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

/**
 * Runs one piece of a sweep; a throw is logged, counted in `failed` and skipped, so the rest
 * of the sweep goes on (a deleted worker queue, a throttled write).
 */
function isolate(report: ReconcileReport) {
  return async <T>(what: string, work: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await work();
    } catch (error) {
      report.failed++;
      console.log(`reconciler: ${what} failed, skipped this sweep: ${errorText(error)}`);
      return undefined;
    }
  };
}

const errorText = (error: unknown) =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

/** What one SCHEDULED, STOPPING, STARTING or RUNNING task needs from this sweep, if anything. */
async function settleHeld(
  deps: Deps,
  task: TaskBrief,
  workers: Map<string, WorkerRecord>,
  now: Date,
  report: ReconcileReport,
): Promise<void> {
  const resendMs = deps.config.scheduledResendMs;
  const worker = task.workerId ? workers.get(task.workerId) : undefined;
  if (!worker || worker.state === 'DOWN') {
    const record = await stillAsBriefed(deps, task);
    if (record && (await loseTask(deps, record, worker))) report.tasksLost++;
  } else if (stuckVerdict(task, worker.name, now)) {
    const record = await stillAsBriefed(deps, task);
    const verdict = record && stuckVerdict(record, worker.name, now);
    if (verdict && (await settleStuck(deps, record, verdict, now))) report.stuck++;
  } else if (
    task.state === 'SCHEDULED' &&
    runMessageOverdue(task.scheduledAt, worker, now, resendMs)
  ) {
    const record = await stillAsBriefed(deps, task);
    if (!record) return;
    await deps.queues.sendTaskToWorker(worker.queueUrl, 'run', record);
    report.runResent++;
  } else if (
    task.state === 'STOPPING' &&
    stopMessageOverdue(task.updatedAt, worker, now, resendMs, stopTimeoutMs(task))
  ) {
    const record = await stillAsBriefed(deps, task);
    if (!record) return;
    await deps.queues.sendTaskToWorker(worker.queueUrl, 'stop', record);
    report.stopResent++;
  }
}

const age = (iso: string | undefined, now: Date) => now.getTime() - Date.parse(iso ?? '');
const stopTimeoutMs = (task: TaskBrief) => (task.spec?.stopTimeoutSeconds ?? 10) * 1000;

/** The whole record, if it is still in the state, attempt and worker the brief showed. */
async function stillAsBriefed(deps: Deps, brief: TaskBrief): Promise<TaskRecord | undefined> {
  const record = await deps.tasks.get(brief.id);
  const same =
    record?.state === brief.state &&
    record.attempt === brief.attempt &&
    record.workerId === brief.workerId;
  return same ? record : undefined;
}

/**
 * An idle worker beats once a minute, so its silence alone takes minutes to notice; a task
 * placed on it and never answered by a beat tells sooner (core/runResend.ts).
 */
async function markUnresponsiveWorkersDown(
  deps: Deps,
  held: TaskBrief[],
  workers: Map<string, WorkerRecord>,
  now: Date,
  report: ReconcileReport,
): Promise<void> {
  for (const task of held) {
    const worker = task.workerId ? workers.get(task.workerId) : undefined;
    if (task.state !== 'SCHEDULED' || worker?.state !== 'READY') continue;
    if (!placementUnanswered(task.scheduledAt, worker, now, deps.config.scheduledResendMs)) {
      continue;
    }
    const marked = await isolate(report)(`marking worker ${worker.id} DOWN`, () =>
      deps.workers.markDown(worker.id, worker.heartbeatAt, now),
    );
    if (marked) {
      report.workersDown++;
      const why = `task ${task.id} placed at ${task.scheduledAt} was never picked up and no heartbeat since ${worker.heartbeatAt}`;
      console.log(`reconciler: worker ${worker.name} (${worker.id}) is DOWN: ${why}`);
      await noteWorkerEvent(deps, worker, 'down', BY, why);
      workers.set(worker.id, { ...worker, state: 'DOWN' });
    }
  }
}

async function markSilentWorkersDown(
  deps: Deps,
  listed: WorkerRecord[],
  now: Date,
  report: ReconcileReport,
  mayMarkDown: boolean,
): Promise<Map<string, WorkerRecord>> {
  const workers = new Map<string, WorkerRecord>();
  for (const worker of listed) {
    const ttl = heartbeatTtlFor(deps.config.heartbeatTtlMs, worker.heartbeatIntervalMs);
    const silentMs = age(worker.heartbeatAt, now);
    if (mayMarkDown && worker.state === 'READY' && silentMs > ttl) {
      const marked = await isolate(report)(`marking worker ${worker.id} DOWN`, () =>
        deps.workers.markDown(worker.id, worker.heartbeatAt, now),
      );
      if (marked) {
        report.workersDown++;
        const why = `no heartbeat since ${worker.heartbeatAt} (${(silentMs / 1000).toFixed(1)} s; allowed ${(ttl / 1000).toFixed(1)} s)`;
        console.log(`reconciler: worker ${worker.name} (${worker.id}) is DOWN: ${why}`);
        await noteWorkerEvent(deps, worker, 'down', BY, why);
        workers.set(worker.id, { ...worker, state: 'DOWN' });
        continue;
      }
      const fresh = await isolate(report)(`reading worker ${worker.id}`, () =>
        deps.workers.get(worker.id),
      );
      workers.set(worker.id, fresh ?? worker);
      continue;
    }
    workers.set(worker.id, worker);
  }
  return workers;
}

/**
 * A task whose worker is gone: LOST (its reservation released), then placed elsewhere at
 * once when its policy allows. A task being stopped just ends STOPPED, unless a drain
 * planned to move it.
 */
async function loseTask(deps: Deps, task: TaskRecord, worker: WorkerRecord | undefined) {
  const why = worker ? `worker ${worker.name} is down` : `worker ${task.workerId} is gone`;
  try {
    if (task.state === 'STOPPING' && !task.restart) {
      await deps.tasks.transition(task, { to: 'STOPPED', by: BY, reason: `${why} while stopping` });
      return true;
    }
    const decision = decideRestart(task, { kind: 'lost' }, deps.config.restart);
    const lost = await deps.tasks.transition(task, {
      to: 'LOST',
      by: BY,
      reason: `${why}; ${decision.reason}`,
      patch: restartPatch(decision),
    });
    await applyDueRestart(deps, lost, BY, { notifyWorker: true });
    return true;
  } catch (error) {
    if (error instanceof ConflictError) return false;
    throw error;
  }
}

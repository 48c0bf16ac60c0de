// The service controller's decision, as a pure function of the service record, its slots
// with their replica tasks, and the time: which replicas to create and which to stop, and the
// rollout's new state with a one-line reason. The handler (functions/services) applies it with
// conditional writes, so any number of runs, late or twice, converge on the same state.
//
// Rules (docs/SERVICES.md): new replicas start up to maxSurge above `replicas`; an old
// replica is stopped only while the healthy count stays >= replicas - maxUnavailable (an old
// one that is not healthy costs nothing to stop); new replicas not healthy within
// healthyDeadline, or no step forward within progressDeadline, fail the rollout, and with
// autoRollback the revision it started from is rolled forward again the same way. Replicas
// gone (failed past their restart policy, lost) are replaced, with backoff while they keep
// failing.
import type { TaskRecord } from '../types.js';
import { failedOut, healthySince, isGone, isHealthy, replicaTrouble } from './replicas.js';
import type { ReplicaCounts, Rollout, ServiceEventKind, ServiceRecord, SlotView } from './types.js';

export interface CreateReplica {
  slot: number;
  /** The slot's generation after the create; the write is conditional on gen - 1. */
  gen: number;
  revision: number;
  failures: number;
}

export interface StopReplica {
  slot: number;
  taskId: string;
  /** The version the decision saw: the stop is conditional on it. */
  version: number;
  reason: string;
}

export interface DecisionEvent {
  kind: ServiceEventKind;
  revision: number;
  reason: string;
}

export interface ControllerDecision {
  creates: CreateReplica[];
  stops: StopReplica[];
  rollout: Rollout;
  /** Set when the rollout failed and the previous revision is to be rolled forward again. */
  rollbackTo?: number;
  /** Set when the target revision's rollout completed. */
  stableRevision?: number;
  events: DecisionEvent[];
  /** When to look again (nothing is due on its own otherwise). */
  wakeAt?: string;
  /** Deleting, and no replica is left: the service's items can go. */
  deleted: boolean;
  counts: ReplicaCounts;
}

export interface ControllerOptions {
  /** How often to look again while not converged (task changes are not nudges). */
  pollMs: number;
}

export const CONTROLLER_DEFAULTS: ControllerOptions = { pollMs: 2_000 };

/** A replica that ran this long before failing starts its slot's failure streak afresh. */
const STREAK_RESET_MS = 10 * 60_000;
const MAX_REPLACE_BACKOFF_MS = 300_000;

/** Delay before replacing a replica after `streak` consecutive failures: 1 s, 2 s, 4 s ... 5 min. */
export function replaceBackoffMs(streak: number): number {
  return streak <= 0 ? 0 : Math.min(MAX_REPLACE_BACKOFF_MS, 1000 * 2 ** Math.min(streak - 1, 20));
}

type Occupied = SlotView & { task: TaskRecord };

export function decideService(
  service: ServiceRecord,
  slots: readonly SlotView[],
  now: Date,
  options: ControllerOptions = CONTROLLER_DEFAULTS,
): ControllerDecision {
  const t = now.getTime();
  const at = now.toISOString();
  const N = service.replicas;
  const { maxSurge, maxUnavailable, minHealthyTime } = service.update;
  const T = service.revision;
  const ordered = [...slots].sort((a, b) => a.slot - b.slot);
  const occupied = ordered.filter((s): s is Occupied => !isGone(s.task));
  const stopping = occupied.filter((s) => s.task.state === 'STOPPING');
  const active = occupied.filter((s) => s.task.state !== 'STOPPING');
  const healthy = (s: Occupied) => isHealthy(s.task, minHealthyTime, t);
  const newActive = active.filter((s) => s.revision === T);
  const oldActive = active.filter((s) => s.revision !== T);
  const newHealthy = newActive.filter(healthy).length;
  const healthyCount = active.filter(healthy).length;
  const oldLeft = occupied.filter((s) => s.revision !== T).length;
  const counts: ReplicaCounts = {
    desired: N,
    live: active.length,
    running: active.filter((s) => s.task.state === 'RUNNING').length,
    healthy: healthyCount,
    updated: newActive.length,
    stopping: stopping.length,
  };
  const events: DecisionEvent[] = [];
  const stop = (s: Occupied, reason: string): StopReplica => ({
    slot: s.slot,
    taskId: s.task.id,
    version: s.task.version,
    reason,
  });
  const poll = () => new Date(t + options.pollMs).toISOString();

  if (service.deleting) {
    const deleted = occupied.length === 0;
    return {
      creates: [],
      stops: active.map((s) => stop(s, 'service deleted')),
      rollout: {
        ...service.rollout,
        state: 'deleting',
        reason: deleted ? 'deleted' : `deleting: ${occupied.length} replicas left`,
      },
      events: deleted ? [{ kind: 'deleted', revision: T, reason: 'every replica stopped' }] : [],
      ...(deleted ? {} : { wakeAt: poll() }),
      deleted,
      counts,
    };
  }

  let rollout: Rollout = { ...service.rollout };
  const inRollout =
    (rollout.state === 'progressing' || rollout.state === 'rolling-back') && rollout.revision === T;

  if (inRollout) {
    const failure = rolloutFailure(service, ordered, t);
    if (failure) {
      const from = rollout.fromRevision;
      if (
        rollout.state === 'progressing' &&
        service.update.autoRollback &&
        from !== undefined &&
        from !== T
      ) {
        const reason = `revision ${T} rolled back: ${failure}`;
        return {
          creates: [],
          stops: [],
          rollbackTo: from,
          rollout: {
            state: 'rolling-back',
            revision: from,
            startedAt: at,
            progressAt: at,
            newHealthy: 0,
            oldLeft: occupied.length,
            reason,
          },
          events: [
            { kind: 'rollout-failed', revision: T, reason: `revision ${T} failed: ${failure}` },
            { kind: 'rollback-started', revision: from, reason },
          ],
          wakeAt: at,
          deleted: false,
          counts,
        };
      }
      const reason =
        rollout.state === 'rolling-back'
          ? `rollback to revision ${T} failed: ${failure}`
          : `revision ${T} failed: ${failure}`;
      rollout = { ...rollout, state: 'failed', reason };
      events.push({ kind: 'rollout-failed', revision: T, reason });
    }
  }

  // A failed rollout holds: nothing is created or stopped until the next apply/scale/rollback.
  if (rollout.state === 'failed') {
    return { creates: [], stops: [], rollout, events, deleted: false, counts };
  }

  // Stops: old replicas that are not healthy cost nothing; healthy ones only above the floor.
  const floor = Math.max(0, N - maxUnavailable);
  let healthyLeft = healthyCount;
  const stops: StopReplica[] = [];
  for (const s of oldActive.filter((s) => !healthy(s))) {
    stops.push(stop(s, `replaced by revision ${T}`));
  }
  for (const s of oldActive.filter(healthy).reverse()) {
    if (healthyLeft - 1 < floor) break;
    stops.push(stop(s, `replaced by revision ${T}`));
    healthyLeft--;
  }
  // Scale down: the excess of the target revision, those not healthy and the highest slots first.
  let excess = newActive.length - N;
  const byPreference = [
    ...newActive.filter((s) => !healthy(s)).reverse(),
    ...newActive.filter(healthy).reverse(),
  ];
  for (const s of byPreference) {
    if (excess <= 0) break;
    if (healthy(s)) {
      if (healthyLeft - 1 < floor) break;
      healthyLeft--;
    }
    stops.push(stop(s, `scaled down to ${N}`));
    excess--;
  }

  // Creates: the target revision's missing replicas, within replicas + maxSurge live at once,
  // into the lowest free slots below that bound (a slot holds one live replica at most).
  const creates: CreateReplica[] = [];
  const missing = N - newActive.length;
  const room = N + maxSurge - occupied.length;
  let wakeAt: number | undefined;
  const failedFree = ordered.filter((s) => s.task && isGone(s.task) && failedOut(s.task));
  let streak = 0;
  let notBefore = 0;
  for (const s of failedFree) {
    const task = s.task!;
    const ran =
      task.startedAt && task.finishedAt
        ? Date.parse(task.finishedAt) - Date.parse(task.startedAt)
        : 0;
    const own = ran >= STREAK_RESET_MS ? 1 : s.failures + 1;
    streak = Math.max(streak, own);
    const ended = Date.parse(task.finishedAt ?? task.updatedAt);
    notBefore = Math.max(notBefore, ended + replaceBackoffMs(own));
  }
  if (missing > 0 && room > 0) {
    if (t < notBefore) {
      wakeAt = notBefore;
    } else {
      const bySlot = new Map(ordered.map((s) => [s.slot, s]));
      for (let slot = 0; slot < N + maxSurge && creates.length < Math.min(missing, room); slot++) {
        const current = bySlot.get(slot);
        if (current && !isGone(current.task)) continue;
        const replacing = current?.task && failedOut(current.task);
        creates.push({
          slot,
          gen: (current?.gen ?? 0) + 1,
          revision: T,
          failures: failedFree.length > 0 ? streak : 0,
        });
        if (replacing && rollout.state !== 'progressing' && rollout.state !== 'rolling-back') {
          events.push({
            kind: 'replica-replaced',
            revision: T,
            reason: `replica ${current.task!.spec.name} (task ${current.taskId}) ${replicaTrouble(current.task!)}; replaced`,
          });
        }
      }
    }
  }

  // Progress and completion of a rollout.
  let stableRevision: number | undefined;
  if (rollout.state === 'progressing' || rollout.state === 'rolling-back') {
    if (newHealthy > rollout.newHealthy || oldLeft < rollout.oldLeft) {
      rollout.progressAt = at;
      events.push({
        kind: 'rollout-step',
        revision: T,
        reason: `revision ${T}: ${newHealthy}/${N} new replicas healthy, ${oldLeft} old left`,
      });
    }
    rollout.newHealthy = newHealthy;
    rollout.oldLeft = oldLeft;
    const done =
      newHealthy >= N && newActive.length === N && oldLeft === 0 && stopping.length === 0;
    if (done) {
      stableRevision = T;
      if (rollout.state === 'rolling-back') {
        rollout.state = 'rolled-back';
        events.push({ kind: 'rolled-back', revision: T, reason: rollout.reason });
      } else {
        rollout.state = 'complete';
        rollout.reason = `revision ${T} complete: ${newHealthy}/${N} replicas healthy`;
        events.push({ kind: 'rollout-complete', revision: T, reason: rollout.reason });
      }
    }
  }

  const converged =
    creates.length === 0 &&
    stops.length === 0 &&
    stopping.length === 0 &&
    occupied.length === N &&
    healthyCount === N &&
    rollout.state !== 'progressing' &&
    rollout.state !== 'rolling-back';
  if (!converged) {
    wakeAt = Math.min(wakeAt ?? Number.POSITIVE_INFINITY, t + options.pollMs);
    // A replica about to have been healthy long enough is looked at the moment it has.
    for (const s of active) {
      const since = healthySince(s.task);
      const due = since === undefined ? undefined : since + minHealthyTime * 1000;
      if (due !== undefined && due > t) wakeAt = Math.min(wakeAt, due);
    }
  }
  return {
    creates,
    stops,
    rollout,
    ...(stableRevision !== undefined ? { stableRevision } : {}),
    events,
    ...(wakeAt !== undefined ? { wakeAt: new Date(Math.max(wakeAt, t)).toISOString() } : {}),
    deleted: false,
    counts,
  };
}

/** Why the rollout of the target revision has failed by now, if it has. */
function rolloutFailure(
  service: ServiceRecord,
  slots: readonly SlotView[],
  t: number,
): string | undefined {
  const { rollout, update, revision: T, replicas: N } = service;
  const started = Date.parse(rollout.startedAt);
  const newOnes = slots.filter(
    (s): s is Occupied => s.revision === T && !!s.task && Date.parse(s.task.createdAt) >= started,
  );
  const failed = newOnes.filter((s) =>
    isGone(s.task)
      ? failedOut(s.task)
      : !isHealthy(s.task, update.minHealthyTime, t) &&
        t - Date.parse(s.task.createdAt) > update.healthyDeadline * 1000,
  );
  if (failed.length > 0) {
    return `${failed.length}/${newOnes.length} new replicas ${describeFailures(failed, update.healthyDeadline)}`;
  }
  if (t - Date.parse(rollout.progressAt) > update.progressDeadline * 1000) {
    const healthyNew = newOnes.filter(
      (s) => !isGone(s.task) && isHealthy(s.task, update.minHealthyTime, t),
    ).length;
    return `no progress for ${update.progressDeadline} s (${healthyNew}/${N} new replicas healthy)`;
  }
  return undefined;
}

function describeFailures(failed: readonly Occupied[], healthyDeadline: number): string {
  const first = failed[0]!.task;
  const trouble = replicaTrouble(first);
  if (trouble.startsWith('failed its health check')) {
    return `failed their health check${trouble.slice('failed its health check'.length)}`;
  }
  if (trouble.startsWith('exited with code')) return `exited (${trouble.slice(7)})`;
  if (first.state === 'LOST') return 'were lost with their worker';
  return `were not healthy within ${healthyDeadline} s (${trouble})`;
}

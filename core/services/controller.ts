// The service controller's decision, as a pure function of the service record, its slots
// with their replica tasks, and the time: which replicas to create and which to stop, and the
// rollout's new state with a one-line reason. The handler (functions/services) applies it with
// conditional writes, so any number of runs, late or twice, converge on the same state.
//
// Rules (docs/SERVICES.md): new replicas start while at most `replicas + maxSurge` are live
// (replicas stopping for good do not count: they finish stopping beside the new ones, holding
// their worker's reservation); an old replica is stopped only while the healthy count stays
// >= replicas - maxUnavailable (an old one that is not healthy costs nothing to stop), and the
// run that stops it starts its replacement; new replicas not healthy within
// healthyDeadline, or no step forward within progressDeadline, fail the rollout, and with
// autoRollback the revision it started from is rolled forward again the same way. Replicas
// gone (failed past their restart policy, lost) are replaced, with backoff while they keep
// failing.
import type { TaskRecord } from '../types.js';
import {
  failedOut,
  healthySince,
  isGone,
  isHealthy,
  isRetiring,
  replicaTrouble,
} from './replicas.js';
import { rollingBounds } from './spec.js';
import type { ReplicaCounts, Rollout, ServiceEventKind, ServiceRecord, SlotView } from './types.js';

export interface CreateReplica {
  slot: number;
  /** The slot's generation after the create; the write is conditional on gen - 1. */
  gen: number;
  revision: number;
  failures: number;
  /** Earlier occupants of the slot that may still be stopping: the slot keeps listing them. */
  draining: string[];
  /**
   * The slot's occupant that this run stops: the create is made only once that stop has
   * landed, so the slot never holds two replicas that are not stopping for good.
   */
  afterStop?: string;
}

/** A slot whose draining list has replicas seen gone: keep only the others (if gen is still gen). */
export interface PruneSlot {
  slot: number;
  gen: number;
  draining: string[];
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
  prunes: PruneSlot[];
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
  const { minHealthyTime } = service.update;
  const { maxSurge, maxUnavailable } = rollingBounds(service.update, N);
  const T = service.revision;
  const ordered = [...slots].sort((a, b) => a.slot - b.slot);
  const occupied = ordered.filter((s): s is Occupied => !isGone(s.task));
  // Live: every replica not stopping for good. Retiring: stopping for good, in its slot or
  // listed as draining in it after the slot was filled again.
  const active = occupied.filter((s) => !isRetiring(s.task));
  const draining = ordered.flatMap((s) => (s.drainingTasks ?? []).filter((d) => !isGone(d)));
  const retiring = occupied.length - active.length + draining.length;
  const healthy = (s: Occupied) => isHealthy(s.task, minHealthyTime, t);
  const newActive = active.filter((s) => s.revision === T);
  const oldActive = active.filter((s) => s.revision !== T);
  const newHealthy = newActive.filter(healthy).length;
  const healthyCount = active.filter(healthy).length;
  const oldLeft =
    occupied.filter((s) => s.revision !== T).length +
    draining.filter((d) => d.serviceRevision !== T).length;
  const counts: ReplicaCounts = {
    desired: N,
    live: active.length,
    running: active.filter((s) => s.task.state === 'RUNNING').length,
    healthy: healthyCount,
    updated: newActive.length,
    stopping: retiring,
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
    const left = occupied.length + draining.length;
    const deleted = left === 0;
    return {
      creates: [],
      stops: active.map((s) => stop(s, 'service deleted')),
      prunes: [],
      rollout: {
        ...service.rollout,
        state: 'deleting',
        reason: deleted ? 'deleted' : `deleting: ${left} replicas left`,
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
          prunes: [],
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
    return { creates: [], stops: [], prunes: [], rollout, events, deleted: false, counts };
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

  // Creates: the target revision's missing replicas, within replicas + maxSurge live once this
  // run's stops have landed, into slots below that bound whose occupant is gone (first),
  // retiring, or stopped by this run (a slot holds one live replica at most).
  const creates: CreateReplica[] = [];
  const missing = N - newActive.length;
  const room = N + maxSurge - (active.length - stops.length);
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
      const stopped = new Map(stops.map((s) => [s.slot, s.taskId]));
      const free: { slot: number; rank: number }[] = [];
      for (let slot = 0; slot < N + maxSurge; slot++) {
        const task = bySlot.get(slot)?.task;
        const rank = isGone(task) ? 0 : isRetiring(task!) ? 1 : stopped.has(slot) ? 2 : -1;
        if (rank >= 0) free.push({ slot, rank });
      }
      free.sort((a, b) => a.rank - b.rank || a.slot - b.slot);
      for (const { slot } of free.slice(0, Math.min(missing, room))) {
        const current = bySlot.get(slot);
        const replacing = current?.task && isGone(current.task) && failedOut(current.task);
        const afterStop = stopped.get(slot);
        creates.push({
          slot,
          gen: (current?.gen ?? 0) + 1,
          revision: T,
          failures: failedFree.length > 0 ? streak : 0,
          draining: [
            ...(current ? stillDraining(current) : []),
            ...(current?.task && !isGone(current.task) ? [current.taskId] : []),
          ],
          ...(afterStop ? { afterStop } : {}),
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
  const filled = new Set(creates.map((c) => c.slot));
  const prunes: PruneSlot[] = ordered
    .filter((s) => !filled.has(s.slot) && (s.draining?.length ?? 0) > stillDraining(s).length)
    .map((s) => ({ slot: s.slot, gen: s.gen, draining: stillDraining(s) }));

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
    const done = newHealthy >= N && newActive.length === N && oldLeft === 0 && retiring === 0;
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
    retiring === 0 &&
    active.length === N &&
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
    prunes,
    rollout,
    ...(stableRevision !== undefined ? { stableRevision } : {}),
    events,
    ...(wakeAt !== undefined ? { wakeAt: new Date(Math.max(wakeAt, t)).toISOString() } : {}),
    deleted: false,
    counts,
  };
}

/** The slot's draining replicas not seen gone (one whose record is missing is gone). */
function stillDraining(s: SlotView): string[] {
  const found = new Map((s.drainingTasks ?? []).map((d) => [d.id, d]));
  return (s.draining ?? []).filter((id) => {
    const task = found.get(id);
    return task !== undefined && !isGone(task);
  });
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
      : !isRetiring(s.task) &&
        !isHealthy(s.task, update.minHealthyTime, t) &&
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

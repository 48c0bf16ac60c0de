// Records for the service controller's unit tests: a service, its slots and replica tasks,
// and a small world that applies decisions the way the stores do (conditional on the slot's
// generation and the task's version) so runs can be replayed late or twice.
import { decideService } from '../../../core/services/controller.js';
import { isGone, replicaSpec, replicaTaskId } from '../../../core/services/replicas.js';
import { validateServiceSpec } from '../../../core/services/spec.js';
import type { ServiceRecord, SlotView, UpdatePolicy } from '../../../core/services/types.js';
import type { TaskRecord, TaskSpec, TaskState } from '../../../core/types.js';

export const T0 = Date.parse('2026-12-01T00:00:00.000Z');
export const iso = (ms: number) => new Date(ms).toISOString();

export function taskSpec(image = 'busybox:1', healthCheck = true): TaskSpec {
  return validateServiceSpec(
    {
      task: {
        image,
        command: ['httpd', '-f'],
        ...(healthCheck ? { healthCheck: { command: ['true'], interval: 1 } } : {}),
      },
    },
    'web',
  ).task;
}

export function service(
  overrides: Partial<ServiceRecord> = {},
  update: Partial<UpdatePolicy> = {},
) {
  const record: ServiceRecord = {
    name: 'web',
    uid: 'abc123',
    replicas: 3,
    update: {
      maxSurge: 1,
      maxUnavailable: 0,
      minHealthyTime: 10,
      healthyDeadline: 300,
      progressDeadline: 600,
      autoRollback: true,
      ...update,
    },
    revision: 1,
    task: taskSpec(),
    latestRevision: 1,
    specVersion: 1,
    version: 1,
    rollout: {
      state: 'progressing',
      revision: 1,
      startedAt: iso(T0),
      progressAt: iso(T0),
      newHealthy: 0,
      oldLeft: -1,
      reason: 'revision 1 rolling out',
    },
    createdAt: iso(T0),
    updatedAt: iso(T0),
    ...overrides,
  };
  return record;
}

export interface ReplicaOptions {
  state?: TaskState;
  revision?: number;
  createdAt?: number;
  /** RUNNING since; health healthy from then (when the spec has a check). */
  runningSince?: number;
  health?: 'healthy' | 'unhealthy' | 'starting';
  restart?: boolean;
  gen?: number;
  failures?: number;
  finishedAt?: number;
  version?: number;
}

export function replica(slot: number, o: ReplicaOptions = {}): SlotView {
  const gen = o.gen ?? 1;
  const revision = o.revision ?? 1;
  const id = replicaTaskId({ name: 'web', uid: 'abc123' }, slot, gen);
  const state = o.state ?? 'RUNNING';
  const task: TaskRecord = {
    id,
    spec: replicaSpec(taskSpec(revision === 1 ? 'busybox:1' : `busybox:${revision}`), 'web', slot),
    state,
    version: o.version ?? 5,
    attempt: 1,
    restartCount: 0,
    createdAt: iso(o.createdAt ?? T0),
    updatedAt: iso(o.finishedAt ?? o.runningSince ?? o.createdAt ?? T0),
    ...(state === 'RUNNING' || o.runningSince !== undefined
      ? { startedAt: iso(o.runningSince ?? o.createdAt ?? T0) }
      : {}),
    ...(o.health !== undefined || state === 'RUNNING'
      ? {
          health: {
            status: o.health ?? 'healthy',
            failingStreak: o.health === 'unhealthy' ? 3 : 0,
            checkedAt: iso(o.runningSince ?? o.createdAt ?? T0),
            output: o.health === 'unhealthy' ? 'exit code 1' : '',
          },
        }
      : {}),
    ...(o.restart ? { restart: { kind: 'in-place' as const, at: iso(T0) } } : {}),
    ...(o.finishedAt !== undefined ? { finishedAt: iso(o.finishedAt) } : {}),
    ...({ service: 'web', serviceRevision: revision, serviceSlot: slot } as object),
  };
  return { slot, gen, taskId: id, revision, failures: o.failures ?? 0, task };
}

/** A service whose `revision` replicas all run healthy since long before `T0`. */
export function steady(n: number, revision = 1, update: Partial<UpdatePolicy> = {}) {
  const record = service(
    {
      replicas: n,
      revision,
      latestRevision: revision,
      stableRevision: revision,
      rollout: {
        state: 'complete',
        revision,
        startedAt: iso(T0 - 600_000),
        progressAt: iso(T0 - 300_000),
        newHealthy: n,
        oldLeft: 0,
        reason: `revision ${revision} complete`,
      },
    },
    update,
  );
  const slots = Array.from({ length: n }, (_, i) =>
    replica(i, { revision, createdAt: T0 - 600_000, runningSince: T0 - 600_000 }),
  );
  return { record, slots };
}

/** Starts a rollout of `revision` on a record, as an apply does. */
export function rollOut(record: ServiceRecord, revision: number, at: number): ServiceRecord {
  return {
    ...record,
    revision,
    latestRevision: revision,
    task: taskSpec(`busybox:${revision}`),
    specVersion: record.specVersion + 1,
    rollout: {
      state: 'progressing',
      revision,
      ...(record.stableRevision !== undefined ? { fromRevision: record.stableRevision } : {}),
      startedAt: iso(at),
      progressAt: iso(at),
      newHealthy: 0,
      oldLeft: -1,
      reason: `revision ${revision} rolling out`,
    },
  };
}

export { decideService };

/**
 * The replicas' world for replaying decisions: creates are conditional on the slot's
 * generation and the service's specVersion, stops on the task's version, as in the stores.
 */
export class World {
  slots = new Map<number, SlotView>();
  now: number;
  constructor(
    public record: ServiceRecord,
    slots: SlotView[],
    now = T0,
  ) {
    for (const s of slots) this.slots.set(s.slot, s);
    this.now = now;
  }

  view(): { record: ServiceRecord; slots: SlotView[] } {
    return {
      record: structuredClone(this.record),
      slots: [...this.slots.values()].map((s) => structuredClone(s)),
    };
  }

  decide(view = this.view()) {
    return { view, decision: decideService(view.record, view.slots, new Date(this.now)) };
  }

  /** Applies a decision made on `view`; returns how many of its actions took effect. */
  apply(view: { record: ServiceRecord }, decision: ReturnType<typeof decideService>): number {
    let applied = 0;
    // The record write (rollout state) is conditional on the version the view had.
    if (view.record.version === this.record.version) {
      this.record = {
        ...this.record,
        rollout: decision.rollout,
        version: this.record.version + 1,
        ...(decision.stableRevision !== undefined
          ? { stableRevision: decision.stableRevision }
          : {}),
      };
      if (decision.rollbackTo !== undefined) {
        this.record = {
          ...this.record,
          revision: decision.rollbackTo,
          task: taskSpec(
            decision.rollbackTo === 1 ? 'busybox:1' : `busybox:${decision.rollbackTo}`,
          ),
          specVersion: this.record.specVersion + 1,
        };
      }
    }
    for (const c of decision.creates) {
      const current = this.slots.get(c.slot);
      if ((current?.gen ?? 0) !== c.gen - 1) continue;
      if (view.record.specVersion !== this.record.specVersion) continue;
      const fresh = replica(c.slot, {
        gen: c.gen,
        revision: c.revision,
        state: 'PENDING',
        createdAt: this.now,
        failures: c.failures,
        version: 1,
      });
      this.slots.set(c.slot, fresh);
      applied++;
    }
    for (const s of decision.stops) {
      const current = this.slots.get(s.slot);
      const task = current?.task;
      if (!task || task.id !== s.taskId || task.version !== s.version) continue;
      if (task.state === 'PENDING' || task.state === 'LOST') this.setState(s.slot, 'STOPPED');
      else if (['SCHEDULED', 'STARTING', 'RUNNING'].includes(task.state)) {
        this.setState(s.slot, 'STOPPING');
      } else continue;
      applied++;
    }
    return applied;
  }

  setState(slot: number, state: TaskState, extra: Partial<TaskRecord> = {}) {
    const current = this.slots.get(slot)!;
    const task = current.task!;
    const at = iso(this.now);
    const next: TaskRecord = { ...task, ...extra, state, version: task.version + 1, updatedAt: at };
    if (state === 'RUNNING') {
      next.startedAt = at;
      delete next.health;
    }
    if (['STOPPED', 'FAILED', 'COMPLETED', 'LOST'].includes(state)) next.finishedAt = at;
    this.slots.set(slot, { ...current, task: next });
  }

  /** Moves one replica a step on, as workers would: placed and running, healthy, stopped. */
  progress(slot: number, healthyOk = true) {
    const task = this.slots.get(slot)?.task;
    if (!task) return;
    if (task.state === 'PENDING') this.setState(slot, 'RUNNING');
    else if (task.state === 'RUNNING' && task.health?.status !== 'healthy' && healthyOk) {
      const current = this.slots.get(slot)!;
      this.slots.set(slot, {
        ...current,
        task: {
          ...task,
          version: task.version + 1,
          health: { status: 'healthy', failingStreak: 0, checkedAt: iso(this.now) },
        },
      });
    } else if (task.state === 'STOPPING') this.setState(slot, 'STOPPED');
  }

  live() {
    return [...this.slots.values()].filter((s) => !isGone(s.task));
  }
}

// Records for the service controller's unit tests: a service, its slots and replica tasks,
// and a small world that applies decisions the way the stores do (conditional on the slot's
// generation and the task's version) so runs can be replayed late or twice.
import { decideService } from '../../../core/services/controller.js';
import { isGone, isRetiring, replicaSpec, replicaTaskId } from '../../../core/services/replicas.js';
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
 * generation, the service's specVersion and (for a slot the run stops) that stop having
 * landed; stops on the task's version; prunes on the generation: as in the stores. Every task
 * ever created stays in `tasks`, so one that a slot lost track of is still counted.
 */
export class World {
  slots = new Map<number, SlotView>();
  tasks = new Map<string, TaskRecord>();
  now: number;
  constructor(
    public record: ServiceRecord,
    slots: SlotView[],
    now = T0,
  ) {
    for (const s of slots) {
      const { task, drainingTasks, ...slot } = s;
      this.slots.set(s.slot, slot);
      if (task) this.tasks.set(task.id, task);
      for (const d of drainingTasks ?? []) this.tasks.set(d.id, d);
    }
    this.now = now;
  }

  view(): { record: ServiceRecord; slots: SlotView[] } {
    return {
      record: structuredClone(this.record),
      slots: [...this.slots.values()].map((s) => this.slotView(s)),
    };
  }

  private slotView(s: SlotView): SlotView {
    const task = this.tasks.get(s.taskId);
    const drainingTasks = (s.draining ?? []).flatMap((id) => this.tasks.get(id) ?? []);
    return structuredClone({
      ...s,
      ...(task ? { task } : {}),
      ...(drainingTasks.length > 0 ? { drainingTasks } : {}),
    });
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
    const stopped = new Set<string>();
    for (const s of decision.stops) {
      const task = this.tasks.get(s.taskId);
      if (!task || task.version !== s.version) continue;
      if (task.state === 'PENDING' || task.state === 'LOST') this.setTask(task, 'STOPPED');
      else if (['SCHEDULED', 'STARTING', 'RUNNING'].includes(task.state)) {
        this.setTask(task, 'STOPPING');
      } else continue;
      stopped.add(s.taskId);
      applied++;
    }
    for (const c of decision.creates) {
      const current = this.slots.get(c.slot);
      if ((current?.gen ?? 0) !== c.gen - 1) continue;
      if (view.record.specVersion !== this.record.specVersion) continue;
      if (c.afterStop && !stopped.has(c.afterStop)) continue;
      const fresh = replica(c.slot, {
        gen: c.gen,
        revision: c.revision,
        state: 'PENDING',
        createdAt: this.now,
        failures: c.failures,
        version: 1,
      });
      const { task, ...slot } = fresh;
      this.slots.set(c.slot, {
        ...slot,
        ...(c.draining.length > 0 ? { draining: c.draining } : {}),
      });
      this.tasks.set(task!.id, task!);
      applied++;
    }
    for (const p of decision.prunes) {
      const current = this.slots.get(p.slot);
      if (!current || current.gen !== p.gen) continue;
      const { draining: _d, ...rest } = current;
      this.slots.set(p.slot, {
        ...rest,
        ...(p.draining.length > 0 ? { draining: p.draining } : {}),
      });
    }
    return applied;
  }

  /** Moves the slot's current replica to `state`. */
  setState(slot: number, state: TaskState, extra: Partial<TaskRecord> = {}) {
    this.setTask(this.tasks.get(this.slots.get(slot)!.taskId)!, state, extra);
  }

  private setTask(task: TaskRecord, state: TaskState, extra: Partial<TaskRecord> = {}) {
    const at = iso(this.now);
    const next: TaskRecord = { ...task, ...extra, state, version: task.version + 1, updatedAt: at };
    if (state === 'RUNNING') {
      next.startedAt = at;
      delete next.health;
    }
    if (['STOPPED', 'FAILED', 'COMPLETED', 'LOST'].includes(state)) next.finishedAt = at;
    this.tasks.set(task.id, next);
  }

  /**
   * Moves the slot's replicas a step on, as workers would: placed and running, healthy,
   * stopped (the current one, and earlier ones still draining).
   */
  progress(slot: number, healthyOk = true) {
    const current = this.slots.get(slot);
    if (!current) return;
    for (const id of current.draining ?? []) {
      const task = this.tasks.get(id);
      if (task?.state === 'STOPPING') this.setTask(task, 'STOPPED');
    }
    const task = this.tasks.get(current.taskId);
    if (!task) return;
    if (task.state === 'PENDING') this.setTask(task, 'RUNNING');
    else if (task.state === 'RUNNING' && task.health?.status !== 'healthy' && healthyOk) {
      this.tasks.set(task.id, {
        ...task,
        version: task.version + 1,
        health: { status: 'healthy', failingStreak: 0, checkedAt: iso(this.now) },
      });
    } else if (task.state === 'STOPPING') this.setTask(task, 'STOPPED');
  }

  /** A write to every replica not gone that changes only its version. */
  touch() {
    for (const task of this.tasks.values()) {
      if (!isGone(task)) this.tasks.set(task.id, { ...task, version: task.version + 1 });
    }
  }

  /** Every replica not gone and not stopping for good (what maxSurge bounds), as slot views. */
  live(): (SlotView & { task: TaskRecord })[] {
    return [...this.tasks.values()]
      .filter((task) => !isGone(task) && !isRetiring(task))
      .map((task) => {
        const slot = this.slots.get(task.serviceSlot!)!;
        return { ...slot, taskId: task.id, revision: task.serviceRevision!, task };
      });
  }

  /** Replicas stopping for good. */
  retiring(): TaskRecord[] {
    return [...this.tasks.values()].filter(isRetiring);
  }
}

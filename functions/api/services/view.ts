// What the API shows of a service: its settings, target revision, rollout state and reason,
// replica counts and replicas (from the same pure rules the controller uses), and the replaced
// replicas still stopping.
import { decideService } from '../../../core/services/controller.js';
import { isGone, isHealthy } from '../../../core/services/replicas.js';
import type { ServiceRecord, SlotView } from '../../../core/services/types.js';
import type { TaskRecord } from '../../../core/types.js';

export interface ReplicaView {
  slot: number;
  taskId: string;
  revision: number;
  state: string;
  healthy: boolean;
  workerId?: string;
  health?: string;
  reason?: string;
}

export function serviceView(record: ServiceRecord, slots: readonly SlotView[], now = new Date()) {
  const { counts } = decideService(record, slots, now);
  const view = (slot: number, task: TaskRecord): ReplicaView => ({
    slot,
    taskId: task.id,
    revision: task.serviceRevision ?? 0,
    state: task.state,
    healthy: isHealthy(task, record.update.minHealthyTime, now.getTime()),
    ...(task.workerId ? { workerId: task.workerId } : {}),
    ...(task.health ? { health: task.health.status } : {}),
    ...(task.reason ? { reason: task.reason } : {}),
  });
  const bySlot = [...slots].sort((a, b) => a.slot - b.slot);
  const replicas: ReplicaView[] = bySlot
    .filter((s) => s.task && !isGone(s.task))
    .map((s) => ({ ...view(s.slot, s.task!), revision: s.revision }));
  // Earlier occupants of a slot still on their way out (replaced, stopping for good): not
  // replicas any more, but still holding a worker's room until they are gone.
  const draining: ReplicaView[] = bySlot.flatMap((s) =>
    (s.drainingTasks ?? []).filter((t) => !isGone(t)).map((t) => view(s.slot, t)),
  );
  return {
    name: record.name,
    replicas: record.replicas,
    revision: record.revision,
    latestRevision: record.latestRevision,
    ...(record.stableRevision !== undefined ? { stableRevision: record.stableRevision } : {}),
    specVersion: record.specVersion,
    update: record.update,
    task: record.task,
    rollout: record.rollout,
    counts,
    ...(record.deleting ? { deleting: true } : {}),
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    replicaTasks: replicas,
    drainingTasks: draining,
  };
}

/** The short form of GET /v1/services. */
export function serviceSummary(
  record: ServiceRecord,
  slots: readonly SlotView[],
  now = new Date(),
) {
  const { counts } = decideService(record, slots, now);
  return {
    name: record.name,
    replicas: record.replicas,
    revision: record.revision,
    specVersion: record.specVersion,
    image: record.task.image,
    rollout: {
      state: record.rollout.state,
      revision: record.rollout.revision,
      reason: record.rollout.reason,
    },
    counts,
    updatedAt: record.updatedAt,
  };
}

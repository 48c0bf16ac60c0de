// What the API shows of a service: its settings, target revision, rollout state and reason,
// replica counts and replicas (from the same pure rules the controller uses).
import { decideService } from '../../../core/services/controller.js';
import { isGone, isHealthy } from '../../../core/services/replicas.js';
import type { ServiceRecord, SlotView } from '../../../core/services/types.js';

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
  const replicas: ReplicaView[] = slots
    .filter((s) => s.task && !isGone(s.task))
    .sort((a, b) => a.slot - b.slot)
    .map((s) => ({
      slot: s.slot,
      taskId: s.taskId,
      revision: s.revision,
      state: s.task!.state,
      healthy: isHealthy(s.task!, record.update.minHealthyTime, now.getTime()),
      ...(s.task!.workerId ? { workerId: s.task!.workerId } : {}),
      ...(s.task!.health ? { health: s.task!.health.status } : {}),
      ...(s.task!.reason ? { reason: s.task!.reason } : {}),
    }));
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

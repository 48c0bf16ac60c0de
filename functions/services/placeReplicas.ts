// Placement at creation: the controller places the replicas it creates itself, as the API
// places a submitted task (functions/api/placeOnSubmit.ts), so a new replica is stored
// SCHEDULED with its worker's reservation in the transaction that fills its slot and its run
// message goes straight to the worker: no scheduling queue hop and no scheduler read of every
// placed task to count groups. Spreading counts the service's own live replicas, which the
// controller has just read (the group is the service unless the spec names another group;
// then, and when nothing fits in the cached view, the replica goes the usual way: PENDING and
// a schedule nudge, and the scheduler explains what it decides).
import {
  DEFAULT_POLICY,
  groupOf,
  policyRegistry,
  type RoundRobinCursor,
  TaskGroups,
} from '../../core/scheduler/index.js';
import { isGone, isRetiring } from '../../core/services/replicas.js';
import type { ServiceRecord, SlotView } from '../../core/services/types.js';
import type { TaskRecord } from '../../core/types.js';
import type { Deps } from '../shared/deps.js';
import { type Placed, placeInSnapshot } from '../shared/placeInSnapshot.js';
import { type WorkerSnapshot, workerSnapshot } from '../shared/workerSnapshot.js';

const roundRobinCursor: RoundRobinCursor = {};

/**
 * Decides where each new replica goes, in order, each seeing the reservations of those before
 * it; undefined for one left to the scheduler. Reservations are applied to the process's
 * cached worker view before any write, so parallel placements spread.
 */
export async function placeReplicas(
  deps: Pick<Deps, 'config' | 'workers' | 'placementSigner'>,
  record: ServiceRecord,
  views: readonly SlotView[],
  tasks: readonly TaskRecord[],
): Promise<{ placed: (Placed | undefined)[]; snapshot?: WorkerSnapshot }> {
  const none = { placed: tasks.map(() => undefined) };
  if (!deps.config.placeOnSubmit || tasks.length === 0) return none;
  const spec = tasks[0]!.spec;
  const policy = spec.scheduler ?? deps.config.defaultPolicy ?? DEFAULT_POLICY;
  if (!policyRegistry.has(policy)) return none;
  const spreads = policyRegistry.compiled(policy).usesTaskGroups;
  if (spreads && groupOf(spec) !== record.name) return none;
  const signer = await deps.placementSigner();
  const snapshot = await workerSnapshot(deps);
  // Nothing awaits from here on: the decisions and the view's reservations go together.
  const taskGroups = spreads
    ? TaskGroups.fromTasks(
        views
          .flatMap((s) => (s.task ? [s.task] : []))
          .filter((t) => t.workerId && !isGone(t) && !isRetiring(t)),
        snapshot.workers,
      )
    : undefined;
  const options = {
    policy,
    signer,
    heartbeatTtlMs: deps.config.heartbeatTtlMs,
    roundRobin: roundRobinCursor,
    ...(taskGroups ? { taskGroups } : {}),
    now: new Date(),
  };
  const placed = tasks.map((task) => placeInSnapshot(task, snapshot, options));
  return { placed, snapshot };
}

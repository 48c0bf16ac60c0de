// One placement against the cached view of the workers, as submit-time placement and the
// service controller make it: the decision, the signed SCHEDULED transition, and the
// reservation applied to the view at once (synchronous: nothing may await between the
// decision and the reservation, or parallel placements decide without each other's). The
// write is the caller's; a write that loses the room calls `forgetLostRoom`.
import type { PlacementSigner } from '../../core/placementSignature.js';
import {
  candidateLimitFor,
  groupOf,
  placeTask,
  type RoundRobinCursor,
  type TaskGroups,
} from '../../core/scheduler/index.js';
import { type Transition, transitionTask } from '../../core/taskStateMachine.js';
import type { TaskRecord } from '../../core/types.js';
import type { Deps } from './deps.js';
import { applyReservation, replaceWorker, type WorkerSnapshot } from './workerSnapshot.js';

export interface Placed {
  transition: Transition;
  queueUrl: string;
}

export interface PlaceOptions {
  policy: string;
  signer: PlacementSigner;
  heartbeatTtlMs: number;
  roundRobin: RoundRobinCursor;
  /** The groups' placements for a spreading policy: this one is added to them. */
  taskGroups?: TaskGroups;
  now: Date;
}

/** Where `task` goes in the view, reserved there; undefined when nothing fits. */
export function placeInSnapshot(
  task: TaskRecord,
  snapshot: WorkerSnapshot,
  options: PlaceOptions,
): Placed | undefined {
  const { policy, now } = options;
  const limit = candidateLimitFor(snapshot.workers.length, policy);
  const decision = placeTask(task.spec, snapshot.workers, policy, {
    now,
    heartbeatTtlMs: options.heartbeatTtlMs,
    roundRobin: options.roundRobin,
    ...(options.taskGroups ? { taskGroups: options.taskGroups } : {}),
    ...(limit !== undefined ? { candidateLimit: limit } : {}),
  });
  if (!decision.worker) return undefined;
  const transition = transitionTask(task, {
    to: 'SCHEDULED',
    by: 'scheduler',
    reason: decision.reason,
    patch: {
      workerId: decision.worker.id,
      placement: decision.explanation,
      signature: options.signer.sign(task, decision.worker.id),
    },
    now,
  });
  applyReservation(snapshot, transition.after);
  options.taskGroups?.add(groupOf(task.spec), decision.worker);
  return { transition, queueUrl: decision.worker.queueUrl };
}

/**
 * The room went (another placement, a cordon, a worker gone): the worker is read again now,
 * so the next placement in this process sees it as it is.
 */
export async function forgetLostRoom(
  deps: Pick<Deps, 'workers'>,
  snapshot: WorkerSnapshot,
  workerId: string,
): Promise<void> {
  const fresh = await deps.workers.get(workerId);
  snapshot.workers = replaceWorker(snapshot.workers, workerId, fresh);
}

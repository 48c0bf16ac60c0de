// Submit-time placement: when a worker in the (cached) snapshot fits a new task, the API
// stores it already placed — PENDING and SCHEDULED events, the task and the worker's
// reservation in ONE transaction — and sends the run message itself. That skips the
// scheduling queue's send, receive and delete, the scheduler's read and a second write
// (bench:cost, issue 7). Anything unusual goes the usual way (PENDING + schedule nudge):
// nothing fits in the snapshot (the scheduler re-reads before it calls a task pending and
// says why), a spread policy (it counts placed tasks), or a lost race for the room.
import { CapacityExhaustedError } from '../../core/errors.js';
import {
  DEFAULT_POLICY,
  policyRegistry,
  type RoundRobinCursor,
} from '../../core/scheduler/index.js';
import type { TaskEvent, TaskRecord } from '../../core/types.js';
import type { Deps } from '../shared/deps.js';
import { forgetLostRoom, placeInSnapshot } from '../shared/placeInSnapshot.js';
import { workerSnapshot } from '../shared/workerSnapshot.js';

const roundRobinCursor: RoundRobinCursor = {};

/** Stores the new task, placed when possible; returns the record as stored. */
export async function storeSubmittedTask(
  deps: Deps,
  task: TaskRecord,
  created: TaskEvent,
): Promise<TaskRecord> {
  const placed = deps.config.placeOnSubmit ? await tryPlace(deps, task, created) : undefined;
  if (placed) return placed;
  await deps.tasks.create(task, created);
  // If this nudge is lost, the reconciler re-enqueues PENDING tasks.
  await deps.queues.sendSchedule({ kind: 'schedule', taskId: task.id, attempt: task.attempt });
  return task;
}

async function tryPlace(
  deps: Deps,
  task: TaskRecord,
  created: TaskEvent,
): Promise<TaskRecord | undefined> {
  const policy = task.spec.scheduler ?? deps.config.defaultPolicy ?? DEFAULT_POLICY;
  if (!policyRegistry.has(policy) || policyRegistry.compiled(policy).usesTaskGroups) return;
  // Loaded before deciding: nothing may await between the decision and the reservation in the
  // view, or parallel submits decide without each other's reservations (all on one worker).
  const signer = await deps.placementSigner();
  const snapshot = await workerSnapshot(deps);
  // Reserved in this process's view before the write, so parallel submits decide on figures
  // that include this one and spread instead of all choosing the same worker.
  const placed = placeInSnapshot(task, snapshot, {
    policy,
    signer,
    heartbeatTtlMs: deps.config.heartbeatTtlMs,
    roundRobin: roundRobinCursor,
    now: new Date(),
  });
  if (!placed) return;
  const { transition } = placed;
  try {
    await deps.tasks.create(task, created, transition);
  } catch (error) {
    // The view keeps the reservation until it is read again (at most a few seconds), except
    // for a lost race, where the worker is re-read now.
    if (!(error instanceof CapacityExhaustedError)) throw error;
    // The scheduler decides with fresh figures, and the next submit sees that worker as it is.
    await forgetLostRoom(deps, snapshot, error.workerId);
    return;
  }
  const { id } = transition.after;
  // A lost run message is re-sent by the reconciler (SCHEDULED past scheduledResendMs).
  await deps.queues
    .sendTaskToWorker(placed.queueUrl, 'run', transition.after)
    .catch((error: Error) => console.error(`submit ${id}: no run message sent: ${error.message}`));
  return transition.after;
}

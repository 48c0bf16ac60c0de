// Places one PENDING task: read, decide with core's placeTask, reserve atomically (task ->
// SCHEDULED and the worker's allocation and host ports in one transaction), then nudge the
// worker.
import { CapacityExhaustedError, ConflictError } from '../../core/errors.js';
import type { ScheduleMessage } from '../../core/messages.js';
import {
  candidateLimitFor,
  DEFAULT_POLICY,
  groupOf,
  type PlacementContext,
  placeTask,
  policyRegistry,
  type RoundRobinCursor,
  TaskGroups,
  UnknownPolicyError,
} from '../../core/scheduler/index.js';
import type { TaskRecord, WorkerRecord } from '../../core/types.js';
import type { Deps } from '../shared/deps.js';
import { applyReservation, replaceWorker, type WorkerSnapshot } from '../shared/workerSnapshot.js';

/** States in which a task sits on a worker and counts for spreading its group. */
const PLACED_STATES = ['SCHEDULED', 'STARTING', 'RUNNING', 'STOPPING'] as const;

/** Counts the placed tasks of every group once per batch, for policies that spread. */
export async function taskGroupsFor(deps: Deps, snapshot: WorkerSnapshot): Promise<TaskGroups> {
  snapshot.groups ??= TaskGroups.fromTasks(
    await deps.tasks.listByState(PLACED_STATES),
    snapshot.workers,
  );
  return snapshot.groups;
}

/**
 * A rescheduled task avoids the workers it failed or was lost on (Nomad does the same), as
 * long as another worker is there to take it.
 */
function avoidPrevious(task: TaskRecord, workers: WorkerRecord[]): WorkerRecord[] {
  const previous = task.previousWorkerIds;
  if (!previous || previous.length === 0) return workers;
  const others = workers.filter((w) => !previous.includes(w.id));
  return others.length > 0 ? others : workers;
}

export type PlacementOutcome = 'placed' | 'pending' | 'obsolete';

const MAX_RACES = 3;

export async function placePendingTask(
  deps: Deps,
  message: ScheduleMessage,
  snapshot: WorkerSnapshot,
  cursor: RoundRobinCursor,
): Promise<PlacementOutcome> {
  let task = await deps.tasks.get(message.taskId);
  // The record is the truth: a late or duplicate nudge for a task that moved on is dropped.
  if (!stillPending(task, message)) return 'obsolete';

  const policy = task.spec.scheduler ?? deps.config.defaultPolicy ?? DEFAULT_POLICY;
  if (!policyRegistry.has(policy)) {
    // E.g. a plugin policy no longer configured: the task waits, saying why (Kubernetes
    // leaves a pod with an unknown schedulerName Pending too).
    const reason = new UnknownPolicyError(policy, policyRegistry.names()).message;
    if (task.reason !== reason) await notePendingOnce(deps, task, reason, task.placement);
    return 'pending';
  }
  const taskGroups = policyRegistry.compiled(policy).usesTaskGroups
    ? await taskGroupsFor(deps, snapshot)
    : undefined;
  let candidates = snapshot.workers;
  for (let race = 0; race <= MAX_RACES; race++) {
    const ctx: PlacementContext = {
      now: new Date(),
      heartbeatTtlMs: deps.config.heartbeatTtlMs,
      roundRobin: cursor,
      ...(taskGroups ? { taskGroups } : {}),
    };
    const limit = candidateLimitFor(candidates.length, policy);
    if (limit !== undefined) ctx.candidateLimit = limit;
    let decision = placeTask(task.spec, avoidPrevious(task, candidates), policy, ctx);
    // Nothing fits away from the previous workers: explain against every worker.
    if (!decision.worker && task.previousWorkerIds?.length) {
      decision = placeTask(task.spec, candidates, policy, ctx);
    }
    if (!decision.worker && snapshot.refresh) {
      // A cached view may miss room freed since: look again before calling it pending.
      snapshot.workers = await snapshot.refresh();
      delete snapshot.refresh;
      candidates = snapshot.workers;
      race--;
      continue;
    }
    if (!decision.worker) {
      // Report a placement failure once, not on every retry: only write when it changed.
      if (task.reason !== decision.reason) {
        await notePendingOnce(deps, task, decision.reason, decision.explanation);
      }
      return 'pending';
    }
    try {
      const signature = (await deps.placementSigner()).sign(task, decision.worker.id);
      const scheduled = await deps.tasks.transition(task, {
        to: 'SCHEDULED',
        by: 'scheduler',
        reason: decision.reason,
        patch: { workerId: decision.worker.id, placement: decision.explanation, signature },
      });
      applyReservation(snapshot, scheduled);
      snapshot.groups?.add(groupOf(scheduled.spec), decision.worker);
      await deps.queues.sendTaskToWorker(decision.worker.queueUrl, 'run', scheduled);
      return 'placed';
    } catch (error) {
      if (error instanceof CapacityExhaustedError) {
        // Another scheduler took the room first: refresh that worker and try again.
        const fresh = await deps.workers.get(error.workerId);
        candidates = replaceWorker(candidates, error.workerId, fresh);
        snapshot.workers = replaceWorker(snapshot.workers, error.workerId, fresh);
        continue;
      }
      if (error instanceof ConflictError) {
        const current = await deps.tasks.get(task.id);
        if (!stillPending(current, message)) return 'obsolete';
        task = current;
        continue;
      }
      throw error;
    }
  }
  throw new ConflictError(`task ${task.id}: lost ${MAX_RACES + 1} reservation races; will retry`);
}

async function notePendingOnce(
  deps: Deps,
  task: TaskRecord,
  reason: string,
  placement: TaskRecord['placement'],
): Promise<void> {
  try {
    await deps.tasks.notePending(task, reason, placement);
  } catch (error) {
    // Someone moved the task on meanwhile: their write is the newer truth.
    if (!(error instanceof ConflictError)) throw error;
  }
}

function stillPending(task: TaskRecord | undefined, message: ScheduleMessage): task is TaskRecord {
  return task?.state === 'PENDING' && task.attempt === message.attempt;
}

// Places one PENDING task: read, decide with core's placeTask, reserve atomically (task ->
// SCHEDULED and the worker's allocation in one transaction), then nudge the worker.
import { CapacityExhaustedError, ConflictError } from '../../core/errors.js';
import type { ScheduleMessage } from '../../core/messages.js';
import {
  DEFAULT_POLICY,
  type PlacementContext,
  placeTask,
  type RoundRobinCursor,
} from '../../core/scheduler/index.js';
import type { TaskRecord, WorkerRecord } from '../../core/types.js';
import type { Deps } from '../shared/deps.js';

/** Workers read once per batch; reservations made in the batch are applied to it locally. */
export interface WorkerSnapshot {
  workers: WorkerRecord[];
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
  let candidates = snapshot.workers;
  for (let race = 0; race <= MAX_RACES; race++) {
    const ctx: PlacementContext = {
      now: new Date(),
      heartbeatTtlMs: deps.config.heartbeatTtlMs,
      roundRobin: cursor,
    };
    const decision = placeTask(task.spec, candidates, policy, ctx);
    if (!decision.worker) {
      // Report a placement failure once, not on every retry: only write when it changed.
      if (task.reason !== decision.reason) {
        try {
          await deps.tasks.notePending(task, decision.reason, decision.explanation);
        } catch (error) {
          if (!(error instanceof ConflictError)) throw error;
        }
      }
      return 'pending';
    }
    try {
      const scheduled = await deps.tasks.transition(task, {
        to: 'SCHEDULED',
        by: 'scheduler',
        reason: decision.reason,
        patch: { workerId: decision.worker.id, placement: decision.explanation },
      });
      applyReservation(snapshot, scheduled);
      await deps.queues.sendToWorker(decision.worker.queueUrl, {
        kind: 'run',
        taskId: scheduled.id,
        attempt: scheduled.attempt,
      });
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

function stillPending(task: TaskRecord | undefined, message: ScheduleMessage): task is TaskRecord {
  return task?.state === 'PENDING' && task.attempt === message.attempt;
}

function replaceWorker(
  workers: WorkerRecord[],
  id: string,
  fresh: WorkerRecord | undefined,
): WorkerRecord[] {
  const rest = workers.filter((w) => w.id !== id);
  return fresh ? [...rest, fresh] : rest;
}

function applyReservation(snapshot: WorkerSnapshot, task: TaskRecord): void {
  const worker = snapshot.workers.find((w) => w.id === task.workerId);
  if (!worker) return;
  const r = task.spec.resources;
  const allocated = {
    cpuMillis: worker.allocated.cpuMillis + r.cpuMillis,
    memoryBytes: worker.allocated.memoryBytes + r.memoryBytes,
    diskBytes: worker.allocated.diskBytes + r.diskBytes,
    tasks: worker.allocated.tasks + 1,
  };
  snapshot.workers = snapshot.workers.map((w) => (w.id === worker.id ? { ...w, allocated } : w));
}

// The task state machine: the one transition function every writer goes through. It
// refuses transitions the table does not allow and says what capacity the move reserves
// or releases, so the store can apply both in one atomic write.
import { InvalidTransitionError } from './errors.js';
import { hostPortsOf } from './scheduler/ports.js';
import type { Allocation, TaskEvent, TaskRecord, TaskState } from './types.js';

const ALLOWED: Record<TaskState, readonly TaskState[]> = {
  PENDING: ['SCHEDULED', 'STOPPED', 'FAILED'],
  // SCHEDULED -> PENDING: the reservation is given back (worker gone before it started).
  SCHEDULED: ['STARTING', 'PENDING', 'STOPPING', 'STOPPED', 'FAILED', 'LOST'],
  // STARTING -> COMPLETED/FAILED: the container exited before RUNNING was written.
  STARTING: ['RUNNING', 'COMPLETED', 'FAILED', 'STOPPING', 'LOST'],
  RUNNING: ['COMPLETED', 'FAILED', 'STOPPING', 'LOST'],
  // STOPPING -> PENDING: a drain stopped it to place it elsewhere (its record has a restart).
  // STOPPING -> STOPPING: a user's stop cancels that drain's restart (see stopRequest).
  STOPPING: ['STOPPED', 'PENDING', 'LOST', 'STOPPING'],
  // FAILED -> SCHEDULED restarts in place (new attempt, same worker); -> PENDING reschedules;
  // -> STOPPED: a user's stop cancels the planned restart.
  FAILED: ['SCHEDULED', 'PENDING', 'STOPPED'],
  LOST: ['PENDING', 'STOPPED'],
  // Only a restart policy of `always` restarts a completed task; a user's stop ends it.
  COMPLETED: ['SCHEDULED', 'PENDING', 'STOPPED'],
  STOPPED: [],
};

/** States in which a task holds a reservation on its worker. */
const HOLDS_CAPACITY: ReadonlySet<TaskState> = new Set([
  'SCHEDULED',
  'STARTING',
  'RUNNING',
  'STOPPING',
]);

/**
 * A task placed again after one of these states gets a new attempt. So once an attempt has left
 * them, its container is never wanted again: a worker may stop it on a stop message's word.
 */
const NEW_ATTEMPT_AFTER: ReadonlySet<TaskState> = new Set([
  'STARTING',
  'RUNNING',
  'STOPPING',
  'LOST',
  'FAILED',
  'COMPLETED',
]);

/**
 * Moves that exist only to cancel a planned restart (a user's stop of a task waiting for its
 * restart, or of one a drain is moving): refused on a record with no plan, so a finished
 * task keeps the state it ended in.
 */
const CANCELS_PLAN: ReadonlySet<string> = new Set([
  'FAILED>STOPPED',
  'COMPLETED>STOPPED',
  'STOPPING>STOPPING',
]);

/** States a task rests in unless a restart is planned on its record. */
export const TERMINAL_STATES: ReadonlySet<TaskState> = new Set(['COMPLETED', 'FAILED', 'STOPPED']);

export function canTransition(from: TaskState, to: TaskState): boolean {
  return ALLOWED[from].includes(to);
}

export function holdsCapacity(state: TaskState): boolean {
  return HOLDS_CAPACITY.has(state);
}

export function isFinal(state: TaskState): boolean {
  return ALLOWED[state].length === 0;
}

/** A change to one worker's allocation: positive reserves, negative releases. */
export interface CapacityChange {
  workerId: string;
  delta: Allocation;
  /** Host ports (`tcp/8080`) taken with a reservation or given back with a release. */
  ports?: string[];
  /** Reservations must fit the worker's capacity; releases never fail. */
  kind: 'reserve' | 'release';
}

export interface TransitionRequest {
  to: TaskState;
  by: string;
  reason?: string;
  /** Fields to set with the move (workerId on SCHEDULED, exitCode on FAILED, ...). */
  patch?: Partial<
    Omit<TaskRecord, 'id' | 'spec' | 'state' | 'version' | 'createdAt' | 'updatedAt'>
  >;
  now?: Date;
}

export interface Transition {
  before: TaskRecord;
  after: TaskRecord;
  event: TaskEvent;
  capacity: CapacityChange[];
}

function allocationOf(task: TaskRecord, sign: 1 | -1): Allocation {
  const r = task.spec.resources;
  return {
    cpuMillis: sign * r.cpuMillis,
    memoryBytes: sign * r.memoryBytes,
    diskBytes: sign * r.diskBytes,
    tasks: sign,
  };
}

function portsOf(task: TaskRecord): { ports?: string[] } {
  const ports = hostPortsOf(task.spec);
  return ports.length > 0 ? { ports: [...ports] } : {};
}

/** Computes a task's next record. Pure: the caller writes it conditionally on `before.version`. */
export function transitionTask(task: TaskRecord, request: TransitionRequest): Transition {
  const { to, by, reason, patch = {} } = request;
  if (!canTransition(task.state, to)) {
    throw new InvalidTransitionError(task.id, task.state, to);
  }
  if (
    (to === 'PENDING' || to === 'SCHEDULED') &&
    NEW_ATTEMPT_AFTER.has(task.state) &&
    !((patch.attempt ?? task.attempt) > task.attempt)
  ) {
    throw new InvalidTransitionError(
      task.id,
      task.state,
      to,
      'placing it again needs a new attempt',
    );
  }
  if (CANCELS_PLAN.has(`${task.state}>${to}`) && (!task.restart || patch.restart)) {
    throw new InvalidTransitionError(task.id, task.state, to, 'only a planned restart is undone');
  }
  const at = (request.now ?? new Date()).toISOString();
  const after: TaskRecord = {
    ...task,
    ...patch,
    state: to,
    version: task.version + 1,
    updatedAt: at,
  };
  if (reason !== undefined) after.reason = reason;
  else delete after.reason;

  if (to === 'SCHEDULED') {
    after.scheduledAt = at;
    delete after.containerId;
    delete after.exitCode;
    delete after.startedAt;
    delete after.finishedAt;
  }
  if (to === 'RUNNING') after.startedAt = at;
  // Endpoints belong to a live container; a stopping one keeps them until it is gone.
  if (to !== 'RUNNING' && to !== 'STOPPING' && !patch.endpoints) delete after.endpoints;
  if ((to === 'STOPPED' || to === 'STOPPING') && !patch.restart) {
    // A user's stop cancels any planned restart; a drain plans one with the stop.
    delete after.restart;
    delete after.restartDue;
  }
  if (to === 'PENDING') {
    delete after.workerId;
    delete after.containerId;
    // A placement's signature names its worker: placed again, it is signed again.
    delete after.signature;
  }
  if (['COMPLETED', 'FAILED', 'STOPPED', 'LOST'].includes(to)) after.finishedAt = at;
  for (const key of Object.keys(after) as (keyof TaskRecord)[]) {
    if (after[key] === undefined) delete after[key];
  }

  const capacity: CapacityChange[] = [];
  const held = holdsCapacity(task.state);
  const holds = holdsCapacity(to);
  if (held && task.workerId && (!holds || after.workerId !== task.workerId)) {
    capacity.push({
      workerId: task.workerId,
      delta: allocationOf(task, -1),
      ...portsOf(task),
      kind: 'release',
    });
  }
  if (holds && after.workerId && (!held || after.workerId !== task.workerId)) {
    capacity.push({
      workerId: after.workerId,
      delta: allocationOf(after, 1),
      ...portsOf(after),
      kind: 'reserve',
    });
  }
  if (holds && !after.workerId) {
    throw new InvalidTransitionError(task.id, task.state, to);
  }

  const event: TaskEvent = {
    taskId: task.id,
    at,
    version: after.version,
    from: task.state,
    to,
    by,
    attempt: after.attempt,
    ...(reason !== undefined ? { reason } : {}),
    ...(after.workerId ? { workerId: after.workerId } : {}),
  };
  return { before: task, after, event, capacity };
}

/**
 * What a user's stop does to the task as it is now, or undefined when nothing is left to stop
 * (already STOPPING for the user, or ended with no restart planned). A stop wins over every
 * plan to run the task again: a restart's backoff, a reschedule, a drain moving it.
 */
export function stopRequest(
  task: TaskRecord,
  by: string,
  now?: Date,
): TransitionRequest | undefined {
  const request = (to: TaskState, reason: string): TransitionRequest => ({
    to,
    by,
    reason,
    ...(now ? { now } : {}),
  });
  switch (task.state) {
    case 'PENDING':
    case 'LOST':
      return request('STOPPED', 'stopped by user');
    case 'SCHEDULED':
    case 'STARTING':
    case 'RUNNING':
      return request('STOPPING', 'stop requested');
    case 'STOPPING':
      // A drain's stop plans a reschedule; the user's drops it, and the worker ends the task.
      return task.restart ? request('STOPPING', 'stop requested') : undefined;
    case 'FAILED':
    case 'COMPLETED':
      // Waiting for a restart: the plan goes with this write, so no timer or sweep acts on it.
      return task.restart ? request('STOPPED', 'stopped by user') : undefined;
    case 'STOPPED':
      return undefined;
  }
}

/** A brand-new task record in PENDING and the first event of its timeline. */
export function newTask(
  id: string,
  spec: TaskRecord['spec'],
  by: string,
  now = new Date(),
): { task: TaskRecord; event: TaskEvent } {
  const at = now.toISOString();
  const task: TaskRecord = {
    id,
    spec,
    state: 'PENDING',
    version: 1,
    attempt: 1,
    restartCount: 0,
    createdAt: at,
    updatedAt: at,
  };
  return {
    task,
    event: { taskId: id, at, version: 1, to: 'PENDING', by, reason: 'submitted', attempt: 1 },
  };
}

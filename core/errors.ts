// Domain errors: callers branch on the class, not on message text or SDK error names.
import type { TaskState } from './types.js';

/** A request or spec that breaks a rule; `field` names what to fix. */
export class ValidationError extends Error {
  override name = 'ValidationError';
  constructor(
    readonly field: string,
    readonly rule: string,
  ) {
    super(field ? `${field}: ${rule}` : rule);
  }
}

/** The state machine does not allow this transition. */
export class InvalidTransitionError extends Error {
  override name = 'InvalidTransitionError';
  constructor(
    readonly taskId: string,
    readonly from: TaskState,
    readonly to: TaskState,
    why?: string,
  ) {
    super(`task ${taskId} cannot go from ${from} to ${to}${why ? `: ${why}` : ''}`);
  }
}

/** Someone else changed the record first (optimistic concurrency lost). */
export class ConflictError extends Error {
  override name = 'ConflictError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The worker had no room left when the reservation was attempted. */
export class CapacityExhaustedError extends Error {
  override name = 'CapacityExhaustedError';
  constructor(readonly workerId: string) {
    super(`worker ${workerId} no longer has room for the task`);
  }
}

export class NotFoundError extends Error {
  override name = 'NotFoundError';
  constructor(
    readonly kind: string,
    readonly id: string,
  ) {
    super(`${kind} ${id} not found`);
  }
}

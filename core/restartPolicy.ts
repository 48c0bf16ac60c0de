// What happens after a task fails, exits or loses its worker: restart in place on the same
// worker first, then reschedule elsewhere (as Nomad does), each with exponential backoff and
// a limit of its own. Pure: the caller records the decision with the FAILED/COMPLETED/LOST
// transition and carries it out when due (see aws/restarts.ts).
import type { PlannedRestart, TaskRecord } from './types.js';

export interface RestartSettings {
  /** In-place restarts for `on-failure` without N and for `always`. */
  maxRestarts: number;
  /** Reschedules onto another worker after in-place restarts run out or a worker is lost. */
  maxReschedules: number;
  /** First delay; each further restart doubles it, up to maxDelayMs. */
  initialDelayMs: number;
  maxDelayMs: number;
}

/** Defaults (documented in the README): quick first retry, capped at a minute. */
export const RESTART_DEFAULTS: RestartSettings = {
  maxRestarts: 3,
  maxReschedules: 5,
  initialDelayMs: 1_000,
  maxDelayMs: 60_000,
};

export type RestartCause =
  | { kind: 'exit'; exitCode: number }
  | { kind: 'unhealthy' }
  | { kind: 'start-failed' }
  /** Held past its state's bound by a live worker (core/stuckTasks.ts): never again in place. */
  | { kind: 'stuck'; what: string }
  | { kind: 'lost' };

export type RestartDecision =
  | { restart: PlannedRestart; delayMs: number; reason: string }
  | { restart: undefined; reason: string };

/** Delay before restart number `n` (0-based): initial * 2^n, capped. */
export function backoffDelay(n: number, settings: RestartSettings): number {
  return Math.min(settings.maxDelayMs, settings.initialDelayMs * 2 ** Math.min(n, 30));
}

export function decideRestart(
  task: TaskRecord,
  cause: RestartCause,
  settings: RestartSettings = RESTART_DEFAULTS,
  now = new Date(),
): RestartDecision {
  const policy = task.spec.restart;
  const maxRestarts = policy.maxRestarts ?? settings.maxRestarts;
  const maxReschedules = policy.maxReschedules ?? settings.maxReschedules;
  const reschedules = task.rescheduleCount ?? 0;

  const plan = (kind: PlannedRestart['kind'], n: number, reason: string): RestartDecision => {
    // A task lost with its worker goes elsewhere at once the first time; backoff after that.
    const delayMs =
      cause.kind === 'lost'
        ? n === 0
          ? 0
          : backoffDelay(n - 1, settings)
        : backoffDelay(n, settings);
    return {
      restart: { kind, at: new Date(now.getTime() + delayMs).toISOString() },
      delayMs,
      reason,
    };
  };
  const reschedule = (why: string): RestartDecision =>
    reschedules < maxReschedules
      ? plan(
          'reschedule',
          reschedules,
          `${why}; rescheduling (${reschedules + 1}/${maxReschedules})`,
        )
      : { restart: undefined, reason: `${why}; reschedule limit ${maxReschedules} reached` };

  // A lost worker is not the task's fault: every policy reschedules it, within the limit.
  if (cause.kind === 'lost') return reschedule('its worker was lost');

  const what = describe(cause);
  const succeeded = cause.kind === 'exit' && cause.exitCode === 0;
  if (policy.mode === 'never' || (succeeded && policy.mode !== 'always')) {
    return { restart: undefined, reason: what };
  }
  if (cause.kind === 'stuck') return reschedule(what);
  if (task.restartCount < maxRestarts) {
    return plan(
      'in-place',
      task.restartCount,
      `${what}; restarting in place (${task.restartCount + 1}/${maxRestarts})`,
    );
  }
  return reschedule(`${what}; ${maxRestarts} in-place restart${maxRestarts === 1 ? '' : 's'} used`);
}

function describe(cause: Exclude<RestartCause, { kind: 'lost' }>): string {
  switch (cause.kind) {
    case 'exit':
      return `exited with code ${cause.exitCode}`;
    case 'unhealthy':
      return 'failed its health check';
    case 'start-failed':
      return 'could not be started';
    case 'stuck':
      return cause.what;
  }
}

/** Fields for the transition that records a decision (clears an older plan when none). */
export function restartPatch(
  decision: RestartDecision,
): Pick<TaskRecord, 'restart' | 'restartDue'> {
  return decision.restart
    ? { restart: decision.restart, restartDue: decision.restart.at }
    : { restart: undefined, restartDue: undefined };
}

/** Fields for the transition that carries out a restart: a new attempt, counters moved on. */
export function restartAttemptPatch(task: TaskRecord, kind: PlannedRestart['kind']) {
  const previous = task.workerId
    ? [...(task.previousWorkerIds ?? []).filter((id) => id !== task.workerId), task.workerId].slice(
        -5,
      )
    : task.previousWorkerIds;
  return kind === 'in-place'
    ? {
        attempt: task.attempt + 1,
        restartCount: task.restartCount + 1,
        restart: undefined,
        restartDue: undefined,
        health: undefined,
      }
    : {
        attempt: task.attempt + 1,
        restartCount: 0,
        rescheduleCount: (task.rescheduleCount ?? 0) + 1,
        restart: undefined,
        restartDue: undefined,
        health: undefined,
        previousWorkerIds: previous,
      };
}

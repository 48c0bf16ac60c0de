// What a replica is worth to its service, from its task record alone: gone, retiring, live,
// healthy (RUNNING, passing its check if it has one, for minHealthyTime), and why it failed.
import { TERMINAL_STATES } from '../taskStateMachine.js';
import type { TaskRecord, TaskSpec } from '../types.js';
import type { ServiceRecord } from './types.js';

/** Task record fields that tie a replica to its service. */
export interface ReplicaFields {
  service: string;
  serviceRevision: number;
  serviceSlot: number;
}

/** The group label the spread policy spreads by (core/scheduler/taskGroups.ts). */
const GROUP_LABEL = 'cube.group';

/** A deterministic task id per (service incarnation, slot, generation): a duplicate create fails. */
export function replicaTaskId(
  service: Pick<ServiceRecord, 'name' | 'uid'>,
  slot: number,
  gen: number,
) {
  return `${service.name}-${service.uid}-s${slot}-g${gen}`;
}

/** The replica's own task spec: the revision's, named after its slot, grouped for spreading. */
export function replicaSpec(task: TaskSpec, service: string, slot: number): TaskSpec {
  return {
    ...task,
    name: `${service}-${slot}`,
    labels: { [GROUP_LABEL]: service, ...task.labels },
    ...(task.scheduler ? {} : { scheduler: 'spread' }),
  };
}

/** Gone for good: stopped, or ended with no restart planned. Its slot may be filled again. */
export function isGone(task: TaskRecord | undefined): boolean {
  if (!task) return true;
  if (task.state === 'STOPPED') return true;
  return (TERMINAL_STATES.has(task.state) || task.state === 'LOST') && !task.restart;
}

/**
 * Stopping for good: STOPPING with no restart planned (a drain's stop plans one and puts the
 * task back to PENDING). Nothing brings such a replica back, so it no longer counts against
 * maxSurge and its slot may take a new replica while it finishes stopping.
 */
export function isRetiring(task: TaskRecord): boolean {
  return task.state === 'STOPPING' && !task.restart;
}

/** Ended by failing (or its worker being lost), not by a stop. */
export function failedOut(task: TaskRecord): boolean {
  return task.state === 'FAILED' || task.state === 'LOST' || task.state === 'COMPLETED';
}

/** Since when the replica has been running and passing its health check, if it is. */
export function healthySince(task: TaskRecord): number | undefined {
  if (task.state !== 'RUNNING' || !task.startedAt) return undefined;
  const started = Date.parse(task.startedAt);
  if (!task.spec.healthCheck) return started;
  if (task.health?.status !== 'healthy') return undefined;
  const checked = task.health.checkedAt ? Date.parse(task.health.checkedAt) : started;
  return Math.max(started, checked);
}

export function isHealthy(task: TaskRecord, minHealthyTimeS: number, now: number): boolean {
  const since = healthySince(task);
  return since !== undefined && now - since >= minHealthyTimeS * 1000;
}

/** Why a replica is not healthy, in a few words, e.g. `failed its health check (exit code 1)`. */
export function replicaTrouble(task: TaskRecord): string {
  if (task.health?.status === 'unhealthy' || /health check/.test(task.reason ?? '')) {
    return `failed its health check${task.health?.output ? ` (${task.health.output})` : ''}`;
  }
  if (task.exitCode !== undefined && task.exitCode !== 0)
    return `exited with code ${task.exitCode}`;
  if (task.state === 'PENDING') return `not placed${task.reason ? ` (${task.reason})` : ''}`;
  if (task.state === 'LOST') return 'its worker was lost';
  if (task.state === 'RUNNING' && task.spec.healthCheck) {
    return task.health?.output
      ? `not passing its health check (${task.health.output})`
      : 'not passing its health check yet';
  }
  return task.reason ? `${task.state.toLowerCase()}: ${task.reason}` : task.state.toLowerCase();
}

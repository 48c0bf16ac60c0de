// The cluster's timeline: every event Cube writes, in one shape. Task transitions are the
// events of a task's own timeline (TaskEvent, keyed by the task and its version); the others
// (workers coming and going, cordons and drains, placements that failed, service rollouts)
// are keyed by their subject (`worker:<id>`, `service:<name>`) and a time-ordered number.
// Every event carries its hour (`bucket`), the partition of the timeline index, so a window
// of time is read by Query, hour by hour, never by a Scan.
import type { TaskState } from '../types.js';

export const EVENT_KINDS = ['task', 'worker', 'placement', 'service'] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/** What happened to a worker (`action` of a `worker` event). */
export const WORKER_ACTIONS = ['up', 'down', 'cordon', 'uncordon', 'drain', 'removed'] as const;
export type WorkerAction = (typeof WORKER_ACTIONS)[number];

/** One event as the API shows it. */
export interface ClusterEvent {
  /** `<subject>/<seq>`: unique, for telling apart events of the same instant. */
  id: string;
  at: string;
  kind: EventKind | (string & {});
  /** worker: up, down...; service: whatever its controller says (rollout, rollback...). */
  action?: string;
  taskId?: string;
  workerId?: string;
  service?: string;
  from?: TaskState;
  to?: TaskState;
  attempt?: number;
  by: string;
  reason?: string;
}

/** An event that is not a task transition, as its writer hands it over. */
export interface NewClusterEvent {
  kind: Exclude<EventKind, 'task'> | (string & {});
  action?: string;
  taskId?: string;
  workerId?: string;
  service?: string;
  by: string;
  reason?: string;
  at?: string;
}

/** The timeline index's partition: the event's hour, `2026-12-05T23`. */
export const timeBucket = (at: string | Date) =>
  (typeof at === 'string' ? at : at.toISOString()).slice(0, 13);

/** The hour buckets from `since` to `until`, oldest first. */
export function bucketsBetween(since: Date, until: Date): string[] {
  const out: string[] = [];
  const start = Math.floor(since.getTime() / 3_600_000);
  const end = Math.floor(until.getTime() / 3_600_000);
  for (let hour = start; hour <= end; hour++) out.push(timeBucket(new Date(hour * 3_600_000)));
  return out;
}

/** The partition key of a non-task event: its subject. */
export function eventSubject(event: NewClusterEvent): string {
  if (event.workerId && event.kind === 'worker') return `worker:${event.workerId}`;
  if (event.service) return `service:${event.service}`;
  if (event.taskId) return event.taskId;
  return `${event.kind}:cluster`;
}

/** A stored event item (task transition or other) as the API shows it. */
export function toClusterEvent(item: Record<string, unknown>): ClusterEvent {
  const subject = String(item.taskId);
  // A service's controller writes its own kinds (rollout-step, rolled-back...): they are
  // `service` events here, and their kind is the action.
  const stored = typeof item.kind === 'string' ? item.kind : 'task';
  const known = (EVENT_KINDS as readonly string[]).includes(stored);
  const kind = known ? stored : 'service';
  const isTask = kind === 'task' || kind === 'placement';
  const pick = <K extends keyof ClusterEvent>(key: K) =>
    item[key] === undefined ? {} : ({ [key]: item[key] } as Pick<ClusterEvent, K>);
  return {
    id: `${subject}/${String(item.seq)}`,
    at: String(item.at),
    kind,
    ...(known ? pick('action') : { action: stored }),
    ...(isTask ? { taskId: subject } : typeof item.task === 'string' ? { taskId: item.task } : {}),
    ...pick('workerId'),
    ...pick('service'),
    ...pick('from'),
    ...pick('to'),
    ...pick('attempt'),
    by: typeof item.by === 'string' ? item.by : 'unknown',
    ...pick('reason'),
  };
}

/** A task's own timeline holds its transitions (placement notes are shown as its reason). */
export const isTransition = (item: Record<string, unknown>): boolean =>
  item.kind === undefined || item.kind === 'task';

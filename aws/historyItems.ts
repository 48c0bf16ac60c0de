// What the tables hold beyond the records themselves: the keys of the history indexes and
// the TTL attribute. Added when an item is written, taken off when it is read, so the rest of
// the code sees plain TaskRecords and TaskEvents.
import { ID_PREFIX_LENGTH, idPrefixOf } from '../core/history/backfill.js';
import { isTransition, timeBucket } from '../core/history/events.js';
import { purgeAtAfter, TTL_ATTRIBUTE, taskPurgeAt } from '../core/history/retention.js';
import type { TaskEvent, TaskRecord } from '../core/types.js';

export { ID_PREFIX_LENGTH, idPrefixOf };

/** The item stored for a task: the record, its prefix bucket and, once finished, its TTL. */
export function taskItem(task: TaskRecord, retentionMs: number): Record<string, unknown> {
  const { purgeAt: _old, ...record } = task;
  const purgeAt = taskPurgeAt(task, retentionMs);
  return {
    ...record,
    idPrefix: idPrefixOf(task.id),
    ...(purgeAt !== undefined ? { [TTL_ATTRIBUTE]: purgeAt } : {}),
  };
}

/** A stored task item as a record (`purgeAt` stays: it says when the record goes). */
export function fromTaskItem<T>(item: Record<string, unknown>): T {
  const { idPrefix: _prefix, ...record } = item;
  return record as T;
}

/** The item stored for a transition: in its task's timeline and in the cluster's. */
export function transitionEventItem(
  event: TaskEvent,
  retentionMs: number,
  task?: TaskRecord,
): Record<string, unknown> {
  const service = task?.service;
  return {
    ...event,
    seq: event.version,
    kind: 'task',
    bucket: timeBucket(event.at),
    ...(service ? { service } : {}),
    [TTL_ATTRIBUTE]: purgeAtAfter(event.at, retentionMs),
  };
}

/** What puts any event item in the cluster's timeline: its hour, and its TTL. */
export function timelineFields(at: string, retentionMs: number) {
  return { bucket: timeBucket(at), [TTL_ATTRIBUTE]: purgeAtAfter(at, retentionMs) };
}

/** A stored event item of a task's own timeline, as a TaskEvent; undefined for other kinds. */
export function fromEventItem(item: Record<string, unknown>): TaskEvent | undefined {
  if (!isTransition(item)) return undefined;
  const { seq: _seq, kind: _kind, bucket: _bucket, service: _service, ...event } = item;
  delete event[TTL_ATTRIBUTE];
  return event as unknown as TaskEvent;
}

/**
 * A placement that failed, in the task's partition at the version of the note that records it
 * (that version has no transition: notes change no state), so it is written once per reason.
 */
export function placementEventItem(noted: TaskRecord, retentionMs: number) {
  const service = noted.service;
  return {
    taskId: noted.id,
    seq: noted.version,
    kind: 'placement',
    action: 'failed',
    at: noted.updatedAt,
    attempt: noted.attempt,
    by: 'scheduler',
    ...(noted.reason ? { reason: noted.reason } : {}),
    ...(service ? { service } : {}),
    bucket: timeBucket(noted.updatedAt),
    [TTL_ATTRIBUTE]: purgeAtAfter(noted.updatedAt, retentionMs),
  };
}

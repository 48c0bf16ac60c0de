// How long finished things are kept. Every table carries one TTL attribute, `purgeAt` (epoch
// seconds): DynamoDB deletes an item some time after it passes (hours to days), so every
// listing also treats an item past its purgeAt as gone (`isPurged`).
import type { TaskRecord, TaskState } from '../types.js';

/** The TTL attribute of every table (provision.ts and the CDK stack enable it). */
export const TTL_ATTRIBUTE = 'purgeAt';

/** Default retention of finished tasks, events, dead tokens and DOWN workers: 7 days. */
export const DEFAULT_RETAIN_FINISHED_MS = 7 * 86_400_000;

const ENDED: ReadonlySet<TaskState> = new Set(['COMPLETED', 'FAILED', 'STOPPED', 'LOST']);

export const toEpochSeconds = (ms: number) => Math.ceil(ms / 1000);

/** When DynamoDB may delete the item: `retentionMs` after `fromIso`, as epoch seconds. */
export function purgeAtAfter(fromIso: string, retentionMs: number): number {
  const from = Date.parse(fromIso);
  return toEpochSeconds((Number.isNaN(from) ? Date.now() : from) + retentionMs);
}

/**
 * A task is finished for good when it ended and no restart is planned (a FAILED task with a
 * planned restart is still the cluster's business). Such a task is purged `retentionMs`
 * after it finished; any other task never is.
 */
export function taskPurgeAt(task: TaskRecord, retentionMs: number): number | undefined {
  if (!ENDED.has(task.state) || task.restart) return undefined;
  return purgeAtAfter(task.finishedAt ?? task.updatedAt, retentionMs);
}

/** Whether an item is past its TTL (DynamoDB has not deleted it yet, but it is gone). */
export function isPurged(item: { purgeAt?: unknown }, now = new Date()): boolean {
  return typeof item.purgeAt === 'number' && item.purgeAt * 1000 <= now.getTime();
}

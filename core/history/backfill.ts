// Items written before the history indexes and TTL (an older Cube, or a worker daemon not yet
// upgraded) lack what they index on: a task its `idPrefix` (not found by prefix) and, once
// finished, its `purgeAt` (never expires); an event its `bucket` (not in the timeline) and
// `purgeAt`; an expired or revoked token its `purgeAt`. The byWorker and byState indexes need
// nothing: they key on `workerId` and `state`, which every task always had. These are the
// attributes an old item gets, computed exactly as a current writer would; undefined when it
// needs none. The reconciler applies them (aws/backfill.ts).

import type { TaskRecord, WorkerRecord } from '../types.js';
import { isTransition, timeBucket } from './events.js';
import { purgeAtAfter, TTL_ATTRIBUTE, taskPurgeAt, toEpochSeconds } from './retention.js';

/** Characters of a task id that name its partition in the prefix index. */
export const ID_PREFIX_LENGTH = 3;

export const idPrefixOf = (id: string) => id.slice(0, ID_PREFIX_LENGTH);

export type BackfillPatch = Record<string, string | number>;

export function taskBackfill(
  item: Record<string, unknown>,
  retentionMs: number,
): BackfillPatch | undefined {
  if (typeof item.id !== 'string') return undefined;
  const patch: BackfillPatch = {};
  if (item.idPrefix === undefined) patch.idPrefix = idPrefixOf(item.id);
  if (item[TTL_ATTRIBUTE] === undefined) {
    const purgeAt = taskPurgeAt(item as unknown as TaskRecord, retentionMs);
    if (purgeAt !== undefined) patch[TTL_ATTRIBUTE] = purgeAt;
  }
  return Object.keys(patch).length > 0 ? patch : undefined;
}

/** A stored event (transition, placement, worker, service) without its timeline fields. */
export function eventBackfill(
  item: Record<string, unknown>,
  retentionMs: number,
): BackfillPatch | undefined {
  if (typeof item.at !== 'string' || Number.isNaN(Date.parse(item.at))) return undefined;
  const patch: BackfillPatch = {};
  if (item.bucket === undefined) patch.bucket = timeBucket(item.at);
  if (item[TTL_ATTRIBUTE] === undefined) patch[TTL_ATTRIBUTE] = purgeAtAfter(item.at, retentionMs);
  // The oldest transitions were written without a kind; the timeline reads them as `task`.
  if (item.kind === undefined && isTransition(item)) patch.kind = 'task';
  return Object.keys(patch).length > 0 ? patch : undefined;
}

/** A token dies when it expires or is revoked; it goes the retention after that. */
export function tokenBackfill(
  item: Record<string, unknown>,
  retentionMs: number,
): BackfillPatch | undefined {
  if (item[TTL_ATTRIBUTE] !== undefined) return undefined;
  const died =
    item.revoked === true
      ? Date.parse(String(item.revokedAt ?? item.createdAt ?? ''))
      : Date.parse(String(item.expiresAt ?? ''));
  if (item.revoked !== true && item.expiresAt === undefined) return undefined;
  const from = Number.isNaN(died) ? Date.now() : died;
  return { [TTL_ATTRIBUTE]: toEpochSeconds(from + retentionMs) };
}

/**
 * Live daemons older than this control plane (they register without an instance nonce) still
 * write old-shape items, so a backfill pass that ends while one runs must be followed by
 * another; the pass that ends with none running is the last.
 */
export function olderDaemonsRun(workers: Iterable<WorkerRecord>): boolean {
  for (const worker of workers) if (worker.state === 'READY' && !worker.instance) return true;
  return false;
}

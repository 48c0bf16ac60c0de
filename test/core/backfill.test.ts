// What an old-shape item is given (core/history/backfill.ts): exactly what a current writer
// would have written, and nothing for an item that lacks nothing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  eventBackfill,
  olderDaemonsRun,
  taskBackfill,
  tokenBackfill,
} from '../../core/history/backfill.js';
import type { WorkerRecord } from '../../core/types.js';

const DAY_MS = 86_400_000;
const at = '2026-12-01T10:00:00.000Z';
const atS = Date.parse(at) / 1000;

test('a task: its id prefix always, a TTL only once finished for good', () => {
  const finished = { id: 'tabc123', state: 'COMPLETED', finishedAt: at, updatedAt: at };
  assert.deepEqual(taskBackfill(finished, DAY_MS), { idPrefix: 'tab', purgeAt: atS + 86_400 });
  const restarting = { ...finished, state: 'FAILED', restart: { kind: 'in-place', at } };
  assert.deepEqual(taskBackfill(restarting, DAY_MS), { idPrefix: 'tab' });
  assert.deepEqual(taskBackfill({ id: 'tabc123', state: 'RUNNING' }, DAY_MS), { idPrefix: 'tab' });
  assert.equal(taskBackfill({ ...finished, idPrefix: 'tab', purgeAt: 1 }, DAY_MS), undefined);
});

test('an event: its hour and TTL; kind task only for a transition written without one', () => {
  assert.deepEqual(eventBackfill({ taskId: 't1', at, to: 'RUNNING' }, DAY_MS), {
    bucket: '2026-12-01T10',
    purgeAt: atS + 86_400,
    kind: 'task',
  });
  assert.deepEqual(eventBackfill({ taskId: 'worker:w1', kind: 'worker', at }, DAY_MS), {
    bucket: '2026-12-01T10',
    purgeAt: atS + 86_400,
  });
  assert.equal(eventBackfill({ taskId: 'cube:backfill', seq: 0 }, DAY_MS), undefined);
});

test('a token: a TTL once revoked or with an expiry, none for a live token without one', () => {
  assert.deepEqual(tokenBackfill({ revoked: true, revokedAt: at }, DAY_MS), {
    purgeAt: atS + 86_400,
  });
  assert.deepEqual(tokenBackfill({ revoked: false, expiresAt: at }, DAY_MS), {
    purgeAt: atS + 86_400,
  });
  assert.equal(tokenBackfill({ revoked: false }, DAY_MS), undefined);
  assert.equal(tokenBackfill({ revoked: true, revokedAt: at, purgeAt: 5 }, DAY_MS), undefined);
});

test('an older daemon is a READY worker registered without an instance nonce', () => {
  const w = (over: Partial<WorkerRecord>) => ({ state: 'READY', ...over }) as WorkerRecord;
  const instance = { hostname: 'h', pid: 1, registeredAt: at };
  assert.equal(olderDaemonsRun([w({ instance })]), false);
  assert.equal(olderDaemonsRun([w({ instance }), w({})]), true);
  assert.equal(olderDaemonsRun([w({ state: 'DOWN' })]), false);
});

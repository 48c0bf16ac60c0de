// Items written by an older Cube (no idPrefix, bucket or purgeAt) are given them by the
// reconciler, a bounded page per table a sweep, once: then the lookups and the timeline find
// them and their TTL runs. Old-shape items are written straight into the tables here.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { BACKFILL_MARKER_KEY, Backfill } from '../../aws/backfill.js';
import { createAwsClients } from '../../aws/clients.js';
import { findTasksByPrefix } from '../../aws/taskPages.js';
import { reconcile } from '../../functions/reconciler/reconcile.js';
import type { Deps } from '../../functions/shared/deps.js';
import { task as specFixture } from '../core/schedulerFixtures.js';
import { schedulerDeps } from '../scheduler/support.js';

const DAY_S = 86_400;
const PAGE = 4;
let deps: Deps;
const { ddb } = createAwsClients();

const put = (table: string, item: Record<string, unknown>) =>
  ddb.send(new PutCommand({ TableName: table, Item: item }));
const raw = async (table: string, key: Record<string, unknown>) =>
  (await ddb.send(new GetCommand({ TableName: table, Key: key, ConsistentRead: true }))).Item;
const clearMarkers = () =>
  Promise.all(
    [0, 1, 2].map((seq) =>
      ddb.send(
        new DeleteCommand({
          TableName: deps.config.eventsTable,
          Key: { taskId: BACKFILL_MARKER_KEY, seq },
        }),
      ),
    ),
  );

/** An hour ago: within the retention, so the lookups do not take the items for purged. */
const finishedAt = new Date(Date.now() - 3_600_000).toISOString();
let n = 0;
/** A task item as Cube wrote it before the history indexes: no idPrefix, no purgeAt. */
function oldTask(state: 'COMPLETED' | 'PENDING') {
  const id = `tbf${(n++).toString().padStart(3, '0')}${Date.now().toString(36)}`;
  return {
    id,
    name: id,
    spec: specFixture(),
    state,
    attempt: 1,
    version: 3,
    createdAt: finishedAt,
    updatedAt: finishedAt,
    ...(state === 'PENDING' ? {} : { finishedAt, exitCode: 0 }),
  };
}

/** One old transition event: no kind, no bucket, no purgeAt. */
const oldEvent = (taskId: string, version: number) => ({
  taskId,
  seq: version,
  version,
  at: finishedAt,
  from: 'RUNNING',
  to: 'COMPLETED',
  by: 'worker:w-gone',
});

before(async () => {
  deps = await schedulerDeps('backfill');
});

describe('backfill of old-shape items', () => {
  test('the reconciler gives old items their attributes, a bounded page a sweep, and then stops', {
    timeout: 120_000,
  }, async () => {
    await clearMarkers();
    const finished = Array.from({ length: 6 }, () => oldTask('COMPLETED'));
    const running = oldTask('PENDING');
    for (const t of [...finished, running]) await put(deps.config.tasksTable, t);
    for (const t of finished) await put(deps.config.eventsTable, oldEvent(t.id, 3));
    await put(deps.config.tokensTable, {
      hash: `old-revoked-${Date.now()}`,
      name: 'old',
      scope: 'read',
      createdAt: '2026-10-01T00:00:00.000Z',
      revoked: true,
      revokedAt: finishedAt,
    });
    const before = await findTasksByPrefix(ddb, deps.config, finished[0]!.id, 10);
    assert.equal(before.length, 0, 'an old task is not found by prefix');

    const backfill = new Backfill(ddb, deps.config, PAGE);
    const sweepDeps = { ...deps, backfill };
    const reports = [];
    for (let i = 0; i < 20 && !backfill.done; i++) {
      reports.push(await reconcile(sweepDeps, { mayMarkDown: false }));
    }
    assert.ok(backfill.done, 'every table is marked done');
    // Bounded: a sweep writes at most a page per table.
    for (const r of reports) assert.ok(r.backfilled <= 3 * PAGE, `backfilled ${r.backfilled}`);
    assert.ok(reports.length > 1, 'more items than one page: it took several sweeps');
    assert.equal(
      reports.reduce((sum, r) => sum + r.backfilled, 0),
      finished.length + 1 + finished.length + 1,
      'each old item patched once (6 finished + 1 pending tasks, 6 events, 1 token)',
    );

    const done = await raw(deps.config.tasksTable, { id: finished[0]!.id });
    assert.equal(done?.idPrefix, finished[0]!.id.slice(0, 3));
    assert.equal(done?.purgeAt, Math.ceil(Date.parse(finishedAt) / 1000) + 7 * DAY_S);
    const live = await raw(deps.config.tasksTable, { id: running.id });
    assert.equal(live?.idPrefix, running.id.slice(0, 3));
    assert.equal(live?.purgeAt, undefined, 'a live task gets no TTL');
    const found = await findTasksByPrefix(ddb, deps.config, finished[0]!.id, 10);
    assert.deepEqual(
      found.map((t) => t.id),
      [finished[0]!.id],
    );
    const event = await raw(deps.config.eventsTable, { taskId: finished[0]!.id, seq: 3 });
    assert.equal(event?.bucket, finishedAt.slice(0, 13));
    assert.equal(event?.kind, 'task');
    assert.equal(event?.purgeAt, Math.ceil(Date.parse(finishedAt) / 1000) + 7 * DAY_S);
    const timeline = await deps.events.timeline({
      since: new Date(Date.parse(finishedAt) - 60_000),
      limit: 1000,
      now: new Date(Date.parse(finishedAt) + 60_000),
    });
    assert.ok(
      timeline.events.some((e) => e.taskId === finished[0]!.id),
      'the old event is in the cluster timeline (byTime index)',
    );

    // A process started later (a cold start) reads the markers once and scans nothing.
    const later = new Backfill(ddb, deps.config, PAGE);
    const step = await later.step(false);
    assert.deepEqual(step, { scanned: 0, patched: 0, finished: [] });
    assert.ok(later.done);
  });

  test('idempotent: a task written since it was read is left alone; a second pass patches it, a third nothing', {
    timeout: 120_000,
  }, async () => {
    await clearMarkers();
    const old = oldTask('COMPLETED');
    await put(deps.config.tasksTable, old);
    // Between the scan and the write, a writer of an older Cube moves the task on (version 4).
    let raced = false;
    const racingDdb = {
      send: async (command: object) => {
        if (command instanceof UpdateCommand && !raced) {
          raced = true;
          await put(deps.config.tasksTable, { ...old, version: 4, updatedAt: finishedAt });
        }
        return ddb.send(command as UpdateCommand);
      },
    } as unknown as DynamoDBDocumentClient;
    const first = await new Backfill(racingDdb, deps.config, 1000).step(false);
    assert.ok(raced);
    const item = await raw(deps.config.tasksTable, { id: old.id });
    assert.equal(item?.version, 4);
    assert.equal(item?.idPrefix, undefined, 'no write on a version it did not read');
    assert.equal(first.patched, 0);
    await clearMarkers();
    const second = await new Backfill(ddb, deps.config, 1000).step(false);
    assert.equal(second.patched, 1);
    assert.equal((await raw(deps.config.tasksTable, { id: old.id }))?.idPrefix, old.id.slice(0, 3));
    await clearMarkers();
    const third = await new Backfill(ddb, deps.config, 1000).step(false);
    assert.equal(third.patched, 0, 'nothing left to patch');
  });

  test('while a daemon of an older Cube runs, a finished pass starts over instead of being marked done', {
    timeout: 120_000,
  }, async () => {
    await clearMarkers();
    const backfill = new Backfill(ddb, deps.config, 1000);
    const first = await backfill.step(true);
    assert.deepEqual(first.finished, [], 'not marked done');
    assert.equal(backfill.done, false);
    assert.equal(
      await raw(deps.config.eventsTable, { taskId: BACKFILL_MARKER_KEY, seq: 0 }),
      undefined,
    );
    // The old daemon wrote another old item meanwhile: the next pass patches it.
    const late = oldTask('COMPLETED');
    await put(deps.config.tasksTable, late);
    const second = await backfill.step(false);
    assert.ok(second.patched >= 1);
    assert.deepEqual(second.finished, ['tasks', 'events', 'tokens']);
    assert.equal(
      (await raw(deps.config.tasksTable, { id: late.id }))?.idPrefix,
      late.id.slice(0, 3),
    );
  });
});

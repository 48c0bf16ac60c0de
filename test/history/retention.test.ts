// TTL attributes on what finishes (tasks, their events, dead tokens, DOWN workers), and that
// listings and prefix lookups leave out items past their TTL, which moto (like DynamoDB for
// hours) does not delete. Real emulator, real stores.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { GetQueueUrlCommand } from '@aws-sdk/client-sqs';
import { BatchWriteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { createAwsClients } from '../../aws/clients.js';
import { findTasksByPrefix, listTaskPage } from '../../aws/taskPages.js';
import { listWorkerPage } from '../../aws/workerPages.js';
import { newTask } from '../../core/taskStateMachine.js';
import type { TaskRecord } from '../../core/types.js';
import { reconcile } from '../../functions/reconciler/reconcile.js';
import type { Deps } from '../../functions/shared/deps.js';
import { task as specFixture } from '../core/schedulerFixtures.js';
import { addPendingTask, addWorker, schedulerDeps } from '../scheduler/support.js';

const DAY_S = 86_400;
let deps: Deps;
const { ddb, sqs } = createAwsClients();

before(async () => {
  deps = await schedulerDeps('retention');
});

async function runningOn(workerName: string): Promise<TaskRecord> {
  const worker = await addWorker(deps, workerName, {
    cpuMillis: 4000,
    memoryBytes: 8 * 1024 ** 3,
    diskBytes: 8 * 1024 ** 3,
  });
  const pending = await addPendingTask(deps);
  let task = await deps.tasks.transition(pending, {
    to: 'SCHEDULED',
    by: 'test',
    patch: { workerId: worker.id },
  });
  task = await deps.tasks.transition(task, { to: 'STARTING', by: 'test' });
  return deps.tasks.transition(task, { to: 'RUNNING', by: 'test' });
}

const raw = async (table: string, key: Record<string, unknown>) =>
  (await ddb.send(new GetCommand({ TableName: table, Key: key, ConsistentRead: true }))).Item!;

describe('TTL attributes', () => {
  test('a finished task and its events carry purgeAt, the retention after they happened', async () => {
    const running = await runningOn('ttl-a');
    assert.equal((await raw(deps.config.tasksTable, { id: running.id })).purgeAt, undefined);
    const done = await deps.tasks.transition(running, {
      to: 'COMPLETED',
      by: 'test',
      patch: { exitCode: 0 },
    });
    const item = await raw(deps.config.tasksTable, { id: done.id });
    const finished = Date.parse(done.finishedAt ?? done.updatedAt) / 1000;
    assert.ok(Math.abs((item.purgeAt as number) - (finished + 7 * DAY_S)) <= 1, 'seven days');
    assert.equal(item.idPrefix, done.id.slice(0, 3));
    const events = await deps.tasks.events(done.id);
    assert.deepEqual(
      events.map((e) => e.to),
      ['PENDING', 'SCHEDULED', 'STARTING', 'RUNNING', 'COMPLETED'],
    );
    for (const event of events) {
      const stored = await raw(deps.config.eventsTable, { taskId: done.id, seq: event.version });
      assert.equal(stored.purgeAt, Math.ceil(Date.parse(event.at) / 1000 + 7 * DAY_S));
      assert.equal(stored.bucket, event.at.slice(0, 13));
      assert.equal(stored.kind, 'task');
    }
  });

  test('a failed task with a planned restart keeps no TTL until it is finished for good', async () => {
    const running = await runningOn('ttl-b');
    const at = new Date(Date.now() + 60_000).toISOString();
    const failed = await deps.tasks.transition(running, {
      to: 'FAILED',
      by: 'test',
      patch: { exitCode: 1, restart: { kind: 'in-place', at }, restartDue: at },
    });
    assert.equal((await raw(deps.config.tasksTable, { id: failed.id })).purgeAt, undefined);
  });

  test('CUBE_RETAIN_FINISHED sets the retention', async () => {
    const { TaskStore } = await import('../../aws/taskStore.js');
    const short = new TaskStore(ddb, { ...deps.config, retainFinishedMs: 3_600_000 });
    const pending = await addPendingTask(deps);
    const stopped = await short.transition(pending, { to: 'STOPPED', by: 'test' });
    const item = await raw(deps.config.tasksTable, { id: stopped.id });
    assert.equal(item.purgeAt, Math.ceil(Date.parse(stopped.updatedAt) / 1000 + 3600));
  });

  test('revoked and expiring tokens carry purgeAt; a purged one is not listed', async () => {
    const forever = await deps.tokens.issue('forever', 'read');
    const expiring = await deps.tokens.issue('day', 'read', new Date(Date.now() + DAY_S * 1000));
    const revoked = await deps.tokens.issue('gone', 'read');
    await deps.tokens.revoke(revoked.token.id);
    const items = new Map<string, Record<string, unknown>>();
    const { ScanCommand } = await import('@aws-sdk/lib-dynamodb');
    const scan = await ddb.send(new ScanCommand({ TableName: deps.config.tokensTable }));
    for (const item of scan.Items ?? []) items.set(item.id as string, item);
    assert.equal(items.get(forever.token.id)!.purgeAt, undefined);
    const expiresAt = Date.parse(expiring.token.expiresAt!) / 1000;
    assert.equal(items.get(expiring.token.id)!.purgeAt, Math.ceil(expiresAt + 7 * DAY_S));
    const revokedAt =
      Date.parse((await deps.tokens.list()).find((t) => t.id === revoked.token.id)!.revokedAt!) /
      1000;
    assert.ok(
      Math.abs((items.get(revoked.token.id)!.purgeAt as number) - (revokedAt + 7 * DAY_S)) <= 1,
    );

    const hash = [...items.values()].find((i) => i.id === revoked.token.id)!.hash;
    await ddb.send(
      new PutCommand({
        TableName: deps.config.tokensTable,
        Item: { ...items.get(revoked.token.id), hash, purgeAt: Math.floor(Date.now() / 1000) - 1 },
      }),
    );
    const listed = (await deps.tokens.list()).map((t) => t.id);
    assert.ok(listed.includes(forever.token.id));
    assert.ok(!listed.includes(revoked.token.id), 'past its TTL: not listed');
  });
});

describe('listings and prefix lookups', () => {
  const ids: string[] = [];
  const expired = 'tzz000000001';
  before(async () => {
    // Finished tasks written straight to the table, as the benchmark does, and one past its TTL.
    const now = Date.now();
    const items = Array.from({ length: 30 }, (_, i) => {
      const id = `tyy${String(i).padStart(9, '0')}`;
      ids.push(id);
      const { task } = newTask(id, specFixture({}), 'test');
      const at = new Date(now - (30 - i) * 1000).toISOString();
      return {
        ...task,
        state: 'COMPLETED',
        createdAt: at,
        updatedAt: at,
        finishedAt: at,
        idPrefix: id.slice(0, 3),
        purgeAt: Math.floor(now / 1000) + DAY_S,
      };
    });
    const { task: old } = newTask(expired, specFixture({}), 'test');
    items.push({
      ...old,
      state: 'COMPLETED',
      finishedAt: old.createdAt,
      idPrefix: 'tzz',
      purgeAt: Math.floor(now / 1000) - 60,
    });
    for (let i = 0; i < items.length; i += 25) {
      await ddb.send(
        new BatchWriteCommand({
          RequestItems: {
            [deps.config.tasksTable]: items
              .slice(i, i + 25)
              .map((Item) => ({ PutRequest: { Item } })),
          },
        }),
      );
    }
  });

  test('pages of a listing: every task once, newest first, none past its TTL', async () => {
    const seen: string[] = [];
    let nextToken: string | undefined;
    let pages = 0;
    do {
      const page = await listTaskPage(ddb, deps.config, {
        states: ['COMPLETED'],
        limit: 7,
        ...(nextToken ? { nextToken } : {}),
      });
      assert.ok(page.tasks.length <= 7);
      seen.push(...page.tasks.map((t) => t.id));
      nextToken = page.nextToken;
      pages++;
    } while (nextToken);
    const mine = seen.filter((id) => id.startsWith('tyy'));
    assert.deepEqual(mine, [...ids].reverse(), 'each once, newest first');
    assert.ok(!seen.includes(expired), 'the expired task is not listed');
    assert.ok(pages >= 5, `${pages} pages`);
    assert.equal(new Set(seen).size, seen.length);
  });

  test('a nextToken that is not one is a 400 naming the field', async () => {
    await assert.rejects(
      listTaskPage(ddb, deps.config, { limit: 5, nextToken: 'bm90LWEtdG9rZW4' }),
      /nextToken: must be the nextToken of an earlier answer/,
    );
  });

  test('prefix lookups by Query: matches, at most the limit, none past its TTL', async () => {
    const one = await findTasksByPrefix(ddb, deps.config, ids[3]!, 2);
    assert.deepEqual(
      one.map((t) => t.id),
      [ids[3]],
    );
    assert.equal((one[0] as unknown as Record<string, unknown>).idPrefix, undefined);
    const many = await findTasksByPrefix(ddb, deps.config, 'tyy0000000', 2);
    assert.equal(many.length, 2, 'stops at the limit');
    assert.deepEqual(await findTasksByPrefix(ddb, deps.config, 'tzz', 2), []);
    await assert.rejects(
      findTasksByPrefix(ddb, deps.config, 'ty', 2),
      /prefix: must be at least 3/,
    );
  });

  test("a worker's tasks by (worker, state), and no one else's", async () => {
    const mine = await runningOn('byworker-a');
    await runningOn('byworker-b');
    const listed = await deps.tasks.listByWorker(mine.workerId!, ['SCHEDULED', 'RUNNING']);
    assert.deepEqual(
      listed.map((t) => t.id),
      [mine.id],
    );
  });
});

describe('DOWN workers', () => {
  test('marked DOWN: downAt and a TTL a day after the retention; listed until then', async () => {
    const worker = await addWorker(deps, 'down-a', {
      cpuMillis: 1000,
      memoryBytes: 1,
      diskBytes: 1,
    });
    const now = new Date();
    assert.equal(await deps.workers.markDown(worker.id, worker.heartbeatAt, now), true);
    const item = await raw(deps.config.workersTable, { id: worker.id });
    assert.equal(item.downAt, now.toISOString());
    assert.equal(item.purgeAt, Math.ceil(now.getTime() / 1000 + 8 * DAY_S));
    const page = await listWorkerPage(ddb, deps.config, { limit: 100 });
    assert.ok(page.nodes.some((n) => n.id === worker.id));
    const later = await listWorkerPage(ddb, deps.config, {
      limit: 100,
      now: new Date(now.getTime() + 9 * DAY_S * 1000),
    });
    assert.ok(!later.nodes.some((n) => n.id === worker.id), 'past its TTL: not listed');
    // Registering again makes it READY and clears both.
    const back = await addWorker(deps, 'down-a', { cpuMillis: 1000, memoryBytes: 1, diskBytes: 1 });
    assert.equal(back.state, 'READY');
    assert.equal((await raw(deps.config.workersTable, { id: worker.id })).purgeAt, undefined);
  });

  test('the reconciler removes a DOWN worker past the retention, with its queue', async () => {
    const worker = await addWorker(deps, 'down-b', {
      cpuMillis: 1000,
      memoryBytes: 1,
      diskBytes: 1,
    });
    await deps.workers.markDown(worker.id, worker.heartbeatAt);
    const soon = await reconcile(deps, { now: new Date(), mayMarkDown: false });
    assert.equal(soon.workersRemoved, 0, 'kept for the retention');
    const report = await reconcile(deps, {
      now: new Date(Date.now() + 7 * DAY_S * 1000 + 1000),
      mayMarkDown: false,
    });
    assert.ok(report.workersRemoved >= 1);
    assert.equal(await deps.workers.get(worker.id), undefined);
    await assert.rejects(
      sqs.send(new GetQueueUrlCommand({ QueueName: deps.queues.workerQueueName(worker.id) })),
      /exist/i,
    );
    const { events } = await deps.events.timeline({
      since: new Date(Date.now() - 60_000),
      kind: 'worker',
      workerId: worker.id,
      limit: 10,
    });
    assert.deepEqual(
      events.map((e) => e.action),
      ['removed'],
    );
  });
});

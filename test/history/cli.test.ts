// The history features end to end, on a live `cube up` (no workers: nothing runs) with the
// real `cube` binary: `cube ps --all` over many pages, prefix lookups, `cube node rm`, and
// `cube events` with its filters and -f.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { createAwsClients } from '../../aws/clients.js';
import { controlPlaneConfig } from '../../aws/config.js';
import { PROJECT_ROOT } from '../../cli/local/emulator.js';
import type { ClusterEvent } from '../../core/history/events.js';
import { newTask } from '../../core/taskStateMachine.js';
import type { TaskRecord, WorkerRecord } from '../../core/types.js';
import { task as specFixture } from '../core/schedulerFixtures.js';
import { call } from '../security/support.js';
import { ensureEmulator, stopEmulator } from '../support/aws.js';
import { eventually, startTestCluster, stopChild, type TestCluster } from '../support/cli.js';

const FINISHED = 1_200;
let cluster: TestCluster;

async function writeFinishedTasks(count: number): Promise<void> {
  const { ddb } = createAwsClients();
  const table = controlPlaneConfig({ CUBE_PREFIX: cluster.prefix }).tasksTable;
  const now = Date.now();
  for (let i = 0; i < count; i += 25) {
    const items = Array.from({ length: Math.min(25, count - i) }, (_, j) => {
      const id = `tf${String(i + j).padStart(10, '0')}`;
      const { task } = newTask(id, specFixture({}), 'test');
      const at = new Date(now - (count - i - j) * 1000).toISOString();
      return {
        ...task,
        state: 'COMPLETED',
        createdAt: at,
        updatedAt: at,
        finishedAt: at,
        idPrefix: id.slice(0, 3),
        purgeAt: Math.floor(now / 1000) + 86_400,
      };
    });
    await ddb.send(
      new BatchWriteCommand({
        RequestItems: { [table]: items.map((Item) => ({ PutRequest: { Item } })) },
      }),
    );
  }
}

async function registerWorker(name: string): Promise<WorkerRecord> {
  const answer = await call(cluster.apiUrl, 'POST', '/v1/workers', {
    token: cluster.token,
    body: { name, capacity: { cpuMillis: 1000, memoryBytes: 1024 ** 3, diskBytes: 1024 ** 3 } },
  });
  assert.equal(answer.status, 201, answer.text);
  return (answer.json as { worker: WorkerRecord }).worker;
}

describe('history on a live control plane', { timeout: 300_000 }, () => {
  before(async () => {
    await ensureEmulator();
    cluster = await startTestCluster('history', ['--workers', '0']);
    await writeFinishedTasks(FINISHED);
  });

  after(async () => {
    await cluster?.stop();
    await stopEmulator();
  });

  test('cube ps --all follows the pages of a long listing; cube ps shows the active only', async () => {
    const pending = await cluster.cubeJson<TaskRecord>([
      'run',
      '--json',
      '--network',
      'none',
      '--cpu',
      '64',
      'cube-test/busybox',
    ]);
    const all = await cluster.cubeJson<TaskRecord[]>(['ps', '--all', '--json']);
    assert.equal(all.length, FINISHED + 1);
    assert.equal(new Set(all.map((t) => t.id)).size, all.length, 'no task twice');
    assert.equal(all[0]!.id, pending.id, 'newest first');
    const active = await cluster.cubeJson<TaskRecord[]>(['ps', '--json']);
    assert.deepEqual(
      active.map((t) => t.id),
      [pending.id],
    );
    const page = await call(cluster.apiUrl, 'GET', '/v1/tasks?state=COMPLETED&limit=10', {
      token: cluster.token,
    });
    const body = page.json as { tasks: TaskRecord[]; nextToken?: string };
    assert.equal(body.tasks.length, 10);
    assert.ok(body.nextToken, 'a nextToken for the rest');
    const bad = await call(cluster.apiUrl, 'GET', '/v1/tasks?limit=5000', { token: cluster.token });
    assert.equal(bad.status, 400);
    assert.match(bad.text, /limit: must be a whole number from 1 to 1000/);
  });

  test('cube inspect and cube stop take a unique prefix, looked up by index', async () => {
    const run = () =>
      cluster.cubeJson<TaskRecord>([
        'run',
        '--json',
        '--network',
        'none',
        '--cpu',
        '64',
        'cube-test/busybox',
      ]);
    const [first, second] = [await run(), await run()];
    const shown = await cluster.cube(['inspect', first.id.slice(0, 7)]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, new RegExp(`ID:\\s+${first.id}`));
    const ambiguous = await cluster.cube(['inspect', 'tf000000']);
    assert.equal(ambiguous.code, 1);
    assert.match(ambiguous.stderr, /matches more than one task; give more of the id/);
    const short = await cluster.cube(['inspect', 'tf']);
    assert.equal(short.code, 1);
    assert.match(short.stderr, /at least 3 characters/);
    const stopped = await cluster.cube(['stop', second.id.slice(0, 7)]);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.equal(stopped.stdout.trim(), second.id);
  });

  test('cube node rm refuses a live worker and removes a DOWN one with its queue', async () => {
    const worker = await registerWorker('rm-me');
    const live = await cluster.cube(['node', 'rm', 'rm-me']);
    assert.equal(live.code, 1);
    assert.match(live.stderr, /rm-me .* is READY.*only a DOWN worker can be removed/);
    // It never beats: the reconciler marks it DOWN after the heartbeat TTL.
    await eventually(
      'the worker DOWN',
      async () => {
        const nodes = await cluster.cubeJson<WorkerRecord[]>(['nodes', '--json']);
        return nodes.find((n) => n.id === worker.id && n.state === 'DOWN');
      },
      60_000,
      1000,
    );
    const removed = await cluster.cube(['node', 'rm', 'rm-me']);
    assert.equal(removed.code, 0, removed.stderr);
    assert.match(removed.stdout, /rm-me \(w[0-9a-f]+\) removed with its queue/);
    const nodes = await cluster.cubeJson<WorkerRecord[]>(['nodes', '--json']);
    assert.ok(!nodes.some((n) => n.id === worker.id));
    const gone = await cluster.cube(['node', 'rm', 'rm-me']);
    assert.equal(gone.code, 1);
    const events = await cluster.cubeJson<ClusterEvent[]>([
      'events',
      '--kind',
      'worker',
      '--worker',
      worker.id,
      '--json',
    ]);
    assert.deepEqual(
      events.map((e) => e.action),
      ['up', 'down', 'removed'],
    );
  });

  test('cube events: the timeline with its filters, oldest first', async () => {
    const pending = await cluster.cubeJson<TaskRecord>([
      'run',
      '--json',
      '--network',
      'none',
      '--cpu',
      '64',
      '--name',
      'events-me',
      'cube-test/busybox',
    ]);
    await cluster.cube(['stop', pending.id]);
    const mine = await eventually('the task events', async () => {
      const events = await cluster.cubeJson<ClusterEvent[]>([
        'events',
        '--task',
        pending.id,
        '--json',
      ]);
      return events.some((e) => e.to === 'STOPPED') ? events : undefined;
    });
    assert.ok(mine.every((e) => e.taskId === pending.id));
    assert.deepEqual(
      mine.filter((e) => e.kind === 'task').map((e) => e.to),
      ['PENDING', 'STOPPED'],
    );
    // No worker at all: the scheduler's failed placement is an event of its own.
    const placements = await cluster.cubeJson<ClusterEvent[]>([
      'events',
      '--kind',
      'placement',
      '--json',
    ]);
    assert.ok(placements.some((e) => e.taskId === pending.id && e.action === 'failed'));
    const all = await cluster.cubeJson<ClusterEvent[]>(['events', '--since', '10m', '--json']);
    const times = all.map((e) => e.at);
    assert.deepEqual(times, [...times].sort(), 'oldest first');
    const table = await cluster.cube(['events', '--task', pending.id]);
    assert.match(table.stdout, /^TIME\s+KIND\s+SUBJECT\s+WHAT\s+BY\s+REASON/);
    assert.match(table.stdout, /task\s+t[0-9a-f]+\s+PENDING → STOPPED\s+api:/);
    const bad = await call(cluster.apiUrl, 'GET', '/v1/events?since=yesterday', {
      token: cluster.token,
    });
    assert.equal(bad.status, 400);
    assert.match(bad.text, /since: must be an ISO time or a duration/);
    const badKind = await cluster.cube(['events', '--kind', 'weather']);
    assert.equal(badKind.code, 2);
  });

  test('cube events -f shows new events as they happen', async () => {
    const follower = spawn(
      process.execPath,
      [`${PROJECT_ROOT}/bin/cube.js`, 'events', '-f', '--since', '0s', '--kind', 'worker'],
      {
        env: {
          ...process.env,
          ...cluster.env,
          CUBE_API_URL: cluster.apiUrl,
          CUBE_TOKEN: cluster.token,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    follower.stdout.on('data', (c: Buffer) => {
      out += c;
    });
    try {
      await eventually('the header', async () => (out.includes('TIME') ? true : undefined));
      const worker = await registerWorker('follow-me');
      const cordon = await cluster.cube(['node', 'cordon', 'follow-me']);
      assert.equal(cordon.code, 0, cordon.stderr);
      await eventually('the cordon event', async () =>
        /worker\s+follow-me\s+cordon/.test(out) ? true : undefined,
      );
      assert.match(out, /worker\s+follow-me\s+up/);
      assert.equal(out.match(/follow-me\s+cordon/g)?.length, 1, 'printed once');
      assert.ok(out.indexOf(' up ') < out.indexOf(' cordon '), 'in order');
      assert.ok(worker.id);
    } finally {
      await stopChild(follower, 'SIGINT');
    }
  });
});

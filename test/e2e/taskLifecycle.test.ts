// The whole loop through the real `cube` CLI against a real `cube up`: emulator, control
// plane, a worker process and Docker. Docker itself is asked what runs.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { TaskEvent, TaskRecord, WorkerRecord } from '../../core/types.js';
import { detectAdvertiseAddress } from '../../worker/host/advertiseAddress.js';
import { ensureEmulator } from '../support/aws.js';
import { eventually, startTestCluster, type TestCluster, waitForWorkers } from '../support/cli.js';
import { containersOfTask, TEST_IMAGE } from '../support/docker.js';
import { tearDownCluster } from '../support/teardown.js';

let cluster: TestCluster;
let workerIds: string[] = [];

async function taskState(id: string) {
  return (
    await cluster.cubeJson<{ task: TaskRecord; events: TaskEvent[] }>(['inspect', id, '--json'])
  ).task;
}

async function waitForState(id: string, state: string, timeoutMs = 30_000) {
  return eventually(
    `task ${id} to be ${state}`,
    async () => {
      const task = await taskState(id);
      return task.state === state ? task : undefined;
    },
    timeoutMs,
  );
}

describe('task lifecycle through the CLI', { timeout: 240_000 }, () => {
  before(async () => {
    await ensureEmulator();
    cluster = await startTestCluster('e2e', ['--workers', '1']);
    const nodes = await waitForWorkers(cluster, 1);
    workerIds = nodes.map((n) => n.id);
  });

  after(async () => {
    await tearDownCluster(cluster, workerIds);
  });

  test('a sleep task runs in exactly one labelled container, then stops', async () => {
    const run = await cluster.cube(
      ['run', '--wait', '--name', 'sleeper', '--network', 'none', TEST_IMAGE, '--', 'sleep', '300'],
      60_000,
    );
    assert.equal(run.code, 0, run.stderr + cluster.logs());
    const id = run.stdout.trim().split('\n')[0]!;
    const task = await taskState(id);
    assert.equal(task.state, 'RUNNING');
    assert.equal(task.workerId, workerIds[0]);

    const containers = await containersOfTask(id);
    assert.equal(containers.length, 1, 'exactly one container carries the task id');
    assert.equal(containers[0]!.State, 'running');
    assert.equal(containers[0]!.Labels['cube.worker'], workerIds[0]);
    assert.equal(containers[0]!.Labels['cube.attempt'], '1');
    assert.equal(containers[0]!.Id, task.containerId);

    const ps = await cluster.cube(['ps']);
    // SERVICE is '-': a task submitted on its own.
    assert.match(ps.stdout, /^ID\s+NAME\s+SERVICE\s+IMAGE\s+STATE/);
    assert.match(ps.stdout, new RegExp(`${id}\\s+sleeper\\s+-\\s+\\S+\\s+RUNNING`));
    const inspect = await cluster.cube(['inspect', id]);
    assert.equal(inspect.code, 0);
    assert.match(inspect.stdout, /RUNNING/);
    assert.ok(inspect.stdout.includes(task.containerId!.slice(0, 12)), inspect.stdout);

    const stop = await cluster.cube(['stop', '--wait', id], 60_000);
    assert.equal(stop.code, 0, stop.stderr);
    const stopped = await taskState(id);
    assert.equal(stopped.state, 'STOPPED');
    assert.equal((await containersOfTask(id)).length, 0, 'the container is gone');
    const { events } = await cluster.cubeJson<{ events: TaskEvent[] }>(['inspect', id, '--json']);
    assert.deepEqual(
      events.map((e) => e.to),
      ['PENDING', 'SCHEDULED', 'STARTING', 'RUNNING', 'STOPPING', 'STOPPED'],
    );
  });

  test('cube nodes shows the address each worker advertises; a bad one is refused', async () => {
    const [node] = await cluster.cubeJson<WorkerRecord[]>(['nodes', '--json']);
    // Started without --advertise-addr: the host's primary IPv4 address.
    assert.equal(node?.address, await detectAdvertiseAddress());
    const table = await cluster.cube(['nodes']);
    assert.match(table.stdout, /^ID\s+NAME\s+STATE\s+ADDRESS\s+LABELS/);
    assert.match(table.stdout, new RegExp(`${node!.id}\\s+\\S+\\s+READY\\s+${node!.address}\\s`));
    const bad = await cluster.cube(['worker', '--advertise-addr', 'http://x:80']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /--advertise-addr must be an IPv4 or IPv6 address or a host name/);
    assert.doesNotMatch(bad.stderr, /\n\s+at /, 'no stack trace');
  });

  test('a task exiting with 3 is FAILED with exit code 3', async () => {
    const run = await cluster.cube([
      'run',
      '--network',
      'none',
      TEST_IMAGE,
      '--',
      'sh',
      '-c',
      'exit 3',
    ]);
    assert.equal(run.code, 0, run.stderr);
    const id = run.stdout.trim();
    const failed = await waitForState(id, 'FAILED');
    assert.equal(failed.exitCode, 3);
    const inspect = await cluster.cube(['inspect', id]);
    assert.match(inspect.stdout, /exit code\s*:?\s*3/i);
  });

  test('a task asking more memory than any worker has stays PENDING with the reason', async () => {
    const run = await cluster.cube(['run', '--memory', '10t', TEST_IMAGE, '--', 'sleep', '1']);
    assert.equal(run.code, 0, run.stderr);
    const id = run.stdout.trim();
    const task = await eventually('a placement reason', async () => {
      const t = await taskState(id);
      return t.reason?.includes('workers fit') ? t : undefined;
    });
    assert.equal(task.state, 'PENDING');
    assert.equal(task.reason, '0/1 workers fit: 1 insufficient memory');
    const ps = await cluster.cube(['ps']);
    assert.match(ps.stdout, /insufficient memory/);
  });

  test('an invalid spec is a 400 naming the field, and nothing is stored', async () => {
    const before = await cluster.cubeJson<TaskRecord[]>(['ps', '--all', '--json']);
    const bad = await fetch(`${cluster.apiUrl}/v1/tasks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${cluster.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ image: TEST_IMAGE, cpu: -1 }),
    });
    assert.equal(bad.status, 400);
    const body = (await bad.json()) as { error: string; message: string };
    assert.equal(body.error, 'VALIDATION_FAILED');
    assert.match(body.message, /^cpu: /);
    const viaCli = await cluster.cube(['run', '--memory', 'lots', TEST_IMAGE]);
    assert.notEqual(viaCli.code, 0);
    assert.match(viaCli.stderr, /memory/);
    assert.doesNotMatch(viaCli.stderr, /\n\s+at /, 'no stack trace');
    const afterList = await cluster.cubeJson<TaskRecord[]>(['ps', '--all', '--json']);
    assert.deepEqual(
      afterList.map((t) => t.id),
      before.map((t) => t.id),
    );
  });

  test('the same run message delivered three times starts one container', async () => {
    const run = await cluster.cube([
      'run',
      '--wait',
      '--network',
      'none',
      TEST_IMAGE,
      '--',
      'sleep',
      '300',
    ]);
    assert.equal(run.code, 0, run.stderr);
    const id = run.stdout.trim().split('\n')[0]!;
    const [worker] = await cluster.cubeJson<WorkerRecord[]>(['nodes', '--json']);
    const sqs = new SQSClient({});
    const body = JSON.stringify({ kind: 'run', taskId: id, attempt: 1 });
    await Promise.all(
      [1, 2, 3].map(() =>
        sqs.send(new SendMessageCommand({ QueueUrl: worker!.queueUrl, MessageBody: body })),
      ),
    );
    // Give the worker time to receive and handle all three.
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal((await containersOfTask(id)).length, 1);
    assert.equal((await taskState(id)).state, 'RUNNING');
    await cluster.cube(['stop', '--wait', id], 60_000);
  });
});

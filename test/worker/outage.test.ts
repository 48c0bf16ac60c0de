// An AWS outage under a running worker, through a proxy the test pauses (see pausableProxy.ts):
// containers keep running, an exit that happens meanwhile is recorded once the endpoint is
// back, the heartbeat and the queue loop pick up again.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ensureEmulator } from '../support/aws.js';
import { PausableProxy } from './pausableProxy.js';
import { startHarness, type WorkerHarness, waitFor } from './support.js';

describe('worker: AWS outage', { timeout: 120_000 }, () => {
  let h: WorkerHarness;
  let proxy: PausableProxy;
  before(async () => {
    proxy = await PausableProxy.start(await ensureEmulator());
    const region = process.env.AWS_REGION ?? 'us-east-1';
    // Only the worker goes through the proxy; the test itself talks to the emulator directly.
    // An explicit endpoint also keeps SQS from using the queue URL's host instead.
    const clients = {
      ddb: DynamoDBDocumentClient.from(new DynamoDBClient({ region, endpoint: proxy.endpoint }), {
        marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
      }),
      sqs: new SQSClient({ region, endpoint: proxy.endpoint }),
    };
    h = await startHarness('outage', { clients });
  });
  after(async () => {
    await h?.close();
    await proxy?.close();
  });

  it('keeps containers running and catches up once the endpoint is back', async () => {
    const steady = await h.scheduleTask({ command: ['sleep', '300'] });
    const brief = await h.scheduleTask({ command: ['sh', '-c', 'sleep 2'] });
    await h.send({ kind: 'run', taskId: steady.id, attempt: 1 });
    await h.send({ kind: 'run', taskId: brief.id, attempt: 1 });
    const running = await waitFor(
      async () => Promise.all([h.tasks.require(steady.id), h.tasks.require(brief.id)]),
      (ts) => ts.every((t) => t.state === 'RUNNING'),
      'both RUNNING',
    );
    const startedAt = (await h.docker.getContainer(running[0].containerId!).inspect()).State
      .StartedAt;

    await proxy.pause();
    const outageStart = Date.now();
    // Sent while the worker cannot reach its queue.
    const late = await h.scheduleTask({ command: ['sleep', '300'] });
    await h.send({ kind: 'run', taskId: late.id, attempt: 1 });
    // `brief` exits during the outage; its exit cannot be written yet.
    await waitFor(
      () => h.containersOf(brief.id),
      (c) => c[0]?.State === 'exited',
      'brief exited',
    );
    await new Promise((r) => setTimeout(r, Math.max(0, 5000 - (Date.now() - outageStart))));
    assert.equal((await h.tasks.require(brief.id)).state, 'RUNNING', 'not written yet');
    assert.equal((await h.containersOf(steady.id))[0]?.State, 'running');
    await proxy.resume();

    const completed = await waitFor(
      () => h.tasks.require(brief.id),
      (t) => t.state === 'COMPLETED',
      'the exit recorded after the outage',
    );
    assert.equal(completed.exitCode, 0);
    await waitFor(
      () => h.tasks.require(late.id),
      (t) => t.state === 'RUNNING',
      'late run',
    );
    await waitFor(
      async () => h.logs.includes('heartbeat recovered'),
      (seen) => seen,
      'heartbeat recovered',
    );

    const after = await h.tasks.require(steady.id);
    assert.equal(after.state, 'RUNNING');
    assert.equal(after.containerId, running[0].containerId);
    const info = await h.docker.getContainer(after.containerId!).inspect();
    assert.equal(info.State.StartedAt, startedAt, 'never restarted');
    assert.ok(h.logs.some((l) => /heartbeat failed/.test(l)));
    assert.ok(h.logs.some((l) => /recording the exit of task .* failed, retrying/.test(l)));
  });
});

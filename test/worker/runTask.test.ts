import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHarness, stateOf, type WorkerHarness, waitFor } from './support.js';

describe('worker: run messages', { timeout: 120_000 }, () => {
  let h: WorkerHarness;
  before(async () => {
    h = await startHarness('run', { pullTimeoutMs: 5_000 });
  });
  after(async () => {
    await h?.close();
  });

  it('starts exactly one labelled container for a SCHEDULED task', {
    timeout: 30_000,
  }, async () => {
    const task = await h.scheduleTask({ labels: { team: 'a' }, env: { GREETING: 'hi' } });
    await h.send({ kind: 'run', taskId: task.id, attempt: 1 });
    const running = await waitFor(
      () => h.tasks.require(task.id),
      (t) => t.state === 'RUNNING',
      'RUNNING',
    );
    const containers = await h.containersOf(task.id);
    assert.equal(containers.length, 1);
    const [container] = containers;
    assert.equal(running.containerId, container!.Id);
    assert.deepEqual(container!.Names, [`/cube-${task.id}-1`]);
    assert.equal(container!.Labels['cube.attempt'], '1');
    assert.equal(container!.Labels['cube.worker'], h.workerId);
    assert.equal(container!.Labels.team, 'a');
    const info = await h.docker.getContainer(container!.Id).inspect();
    assert.equal(info.HostConfig.NanoCpus, 100 * 1e6);
    assert.equal(info.HostConfig.Memory, 64 * 1024 ** 2);
    assert.equal(info.HostConfig.NetworkMode, 'none');
    assert.ok(info.Config.Env.includes('GREETING=hi'));
    const events = await h.tasks.events(task.id);
    assert.deepEqual(
      events.map((e) => `${e.to}:${e.by}`),
      [
        'PENDING:test',
        'SCHEDULED:scheduler',
        `STARTING:worker:${h.workerId}`,
        `RUNNING:worker:${h.workerId}`,
      ],
    );
  });

  it('starts one container when the same run message arrives three times at once', {
    timeout: 30_000,
  }, async () => {
    const task = await h.scheduleTask();
    const message = { kind: 'run', taskId: task.id, attempt: 1 } as const;
    await Promise.all([h.send(message), h.send(message), h.send(message)]);
    await waitFor(stateOf(h, task.id), (s) => s === 'RUNNING', 'RUNNING');
    // Let the other copies be handled too before counting.
    await waitFor(
      async () => h.logs.filter((l) => l.startsWith(`run ${task.id} attempt 1:`)).length,
      (n) => n === 3,
      'all three copies handled',
    );
    assert.equal((await h.containersOf(task.id)).length, 1);
    const starts = (await h.tasks.events(task.id)).filter((e) => e.to === 'STARTING');
    assert.equal(starts.length, 1);
  });

  it('records a non-zero exit as FAILED with its exit code', { timeout: 30_000 }, async () => {
    const task = await h.scheduleTask({ command: ['sh', '-c', 'exit 3'] });
    await h.send({ kind: 'run', taskId: task.id, attempt: 1 });
    const failed = await waitFor(
      () => h.tasks.require(task.id),
      (t) => t.state === 'FAILED',
      'FAILED',
    );
    assert.equal(failed.exitCode, 3);
    assert.equal(failed.reason, 'exited with code 3');
    await waitFor(
      () => h.containersOf(task.id),
      (c) => c.length === 0,
      'container removed',
    );
    const worker = await h.workers.require(h.workerId);
    assert.ok(worker.allocated.tasks >= 0);
  });

  it('records a zero exit as COMPLETED', { timeout: 30_000 }, async () => {
    const task = await h.scheduleTask({ command: ['sh', '-c', 'sleep 1; exit 0'] });
    await h.send({ kind: 'run', taskId: task.id, attempt: 1 });
    await waitFor(stateOf(h, task.id), (s) => s === 'RUNNING', 'RUNNING');
    const done = await waitFor(
      () => h.tasks.require(task.id),
      (t) => t.state === 'COMPLETED',
      'COMPLETED',
    );
    assert.equal(done.exitCode, 0);
    await waitFor(
      () => h.containersOf(task.id),
      (c) => c.length === 0,
      'container removed',
    );
  });

  it('fails a task whose image is missing and cannot be pulled', { timeout: 30_000 }, async () => {
    const task = await h.scheduleTask({ image: 'cube-test/does-not-exist:1' });
    await h.send({ kind: 'run', taskId: task.id, attempt: 1 });
    const failed = await waitFor(
      () => h.tasks.require(task.id),
      (t) => t.state === 'FAILED',
      'FAILED',
    );
    assert.equal(
      failed.reason,
      'image cube-test/does-not-exist:1 not found locally and could not be pulled',
    );
    assert.equal((await h.containersOf(task.id)).length, 0);
  });

  it("fails a task whose container cannot start, with Docker's reason", {
    timeout: 30_000,
  }, async () => {
    const task = await h.scheduleTask({ command: ['/no/such/binary'] });
    await h.send({ kind: 'run', taskId: task.id, attempt: 1 });
    const failed = await waitFor(
      () => h.tasks.require(task.id),
      (t) => t.state === 'FAILED',
      'FAILED',
    );
    assert.match(failed.reason ?? '', /no such file or directory/);
    await waitFor(
      () => h.containersOf(task.id),
      (c) => c.length === 0,
      'container removed',
    );
  });

  it('ignores a run message for another attempt or another worker', {
    timeout: 30_000,
  }, async () => {
    const task = await h.scheduleTask();
    await h.send({ kind: 'run', taskId: task.id, attempt: 2 });
    await waitFor(
      async () => h.logs.some((l) => l === `run ${task.id} attempt 2: obsolete`),
      (seen) => seen,
      'the stale message handled',
    );
    assert.equal((await h.tasks.require(task.id)).state, 'SCHEDULED');
    assert.equal((await h.containersOf(task.id)).length, 0);
  });
});

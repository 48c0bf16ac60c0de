import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startWorkerAgent } from '../../worker/agent.js';
import { containerCreateOptions } from '../../worker/engine/containerOptions.js';
import { TEST_CONTROL_PLANE_KEY } from '../support/placement.js';
import { startHarness, stateOf, TEST_IMAGE, type WorkerHarness, waitFor } from './support.js';

describe('worker: local reconciliation and Docker events', { timeout: 120_000 }, () => {
  let h: WorkerHarness;
  before(async () => {
    h = await startHarness('recon');
  });
  after(async () => {
    await h?.close();
  });

  it('runs a SCHEDULED task whose run message was lost', { timeout: 30_000 }, async () => {
    const task = await h.scheduleTask();
    const report = await h.agent.reconcileNow();
    assert.equal(report.runsStarted, 1);
    assert.equal(await stateOf(h, task.id)(), 'RUNNING');
    assert.equal((await h.containersOf(task.id)).length, 1);
  });

  it('removes a container whose task no longer says it runs here', {
    timeout: 30_000,
  }, async () => {
    const task = await h.scheduleTask();
    // A container for an attempt the record does not have (left over from a crash, say).
    const options = containerCreateOptions({ ...task, attempt: 7 }, h.workerId);
    const orphan = await h.docker.createContainer(options);
    await orphan.start();
    const report = await h.agent.reconcileNow();
    assert.ok(report.orphansRemoved >= 1);
    const left = await h.docker.listContainers({
      all: true,
      filters: { id: [orphan.id] },
    });
    assert.equal(left.length, 0);
    // The task itself was SCHEDULED here with no container: the same pass ran it.
    assert.equal(await stateOf(h, task.id)(), 'RUNNING');
  });

  it('records a container killed outside Cube as FAILED at once', { timeout: 30_000 }, async () => {
    const task = await h.scheduleTask();
    await h.send({ kind: 'run', taskId: task.id, attempt: 1 });
    const running = await waitFor(
      () => h.tasks.require(task.id),
      (t) => t.state === 'RUNNING',
      'RUNNING',
    );
    await h.docker.getContainer(running.containerId!).kill();
    const failed = await waitFor(
      () => h.tasks.require(task.id),
      (t) => t.state === 'FAILED',
      'FAILED',
      10_000,
    );
    assert.equal(failed.exitCode, 137);
    assert.equal(failed.reason, 'exited with code 137');
    await waitFor(
      () => h.containersOf(task.id),
      (c) => c.length === 0,
      'container removed',
    );
  });

  it('keeps containers running across a worker restart and adopts them', {
    timeout: 30_000,
  }, async () => {
    const task = await h.scheduleTask({ image: TEST_IMAGE });
    await h.send({ kind: 'run', taskId: task.id, attempt: 1 });
    const running = await waitFor(
      () => h.tasks.require(task.id),
      (t) => t.state === 'RUNNING',
      'RUNNING',
    );
    await h.agent.stop();
    const [container] = await h.containersOf(task.id);
    assert.equal(container?.State, 'running');

    // Crash between STARTING and RUNNING: the record says STARTING, the container runs.
    const now = await h.tasks.require(task.id);
    await h.tasks.write({
      before: now,
      after: { ...now, state: 'STARTING', version: now.version + 1 },
      event: {
        taskId: task.id,
        at: new Date().toISOString(),
        version: now.version + 1,
        to: 'STARTING',
        by: 'test',
        attempt: 1,
      },
      capacity: [],
    });

    const again = await startWorkerAgent({
      workerId: h.workerId,
      queueUrl: h.queueUrl,
      config: h.config,
      docker: h.docker,
      queueWaitSeconds: 1,
      reconcileIntervalMs: 60_000,
      controlPlaneKey: TEST_CONTROL_PLANE_KEY,
    });
    try {
      const adopted = await h.tasks.require(task.id);
      assert.equal(adopted.state, 'RUNNING');
      assert.equal(adopted.containerId, running.containerId);
      assert.equal((await h.containersOf(task.id)).length, 1);
    } finally {
      await again.stop();
    }
  });
});

// Lost and returning workers. A worker the control plane marked DOWN (its tasks LOST and
// placed elsewhere) registers again when its heartbeat is refused and stops the containers it
// no longer owns, keeping those it still does. A worker restarted after a crash adopts its
// running containers by their labels, records exits it missed, and carries out restarts it
// had planned.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { restartAttemptPatch } from '../../core/restartPolicy.js';
import type { TaskRecord } from '../../core/types.js';
import { startWorkerAgent } from '../../worker/agent.js';
import { signedFor, TEST_CONTROL_PLANE_KEY } from '../support/placement.js';
import { startHarness, type WorkerHarness, waitFor } from './support.js';

describe('worker: lost and returning', { timeout: 120_000 }, () => {
  let h: WorkerHarness;
  before(async () => {
    h = await startHarness('lost');
  });
  after(async () => {
    await h?.close();
  });

  const runningTask = async (spec: Parameters<WorkerHarness['scheduleTask']>[0] = {}) => {
    const task = await h.scheduleTask(spec);
    await h.send({ kind: 'run', taskId: task.id, attempt: 1 });
    return waitFor(
      () => h.tasks.require(task.id),
      (t) => t.state === 'RUNNING',
      'RUNNING',
    );
  };

  it('stops the containers of tasks taken away while it was DOWN, keeps the rest', async () => {
    const other = `w-other-${Date.now()}`;
    await h.workers.register({
      id: other,
      name: other,
      labels: {},
      capacity: { cpuMillis: 4000, memoryBytes: 8 * 1024 ** 3, diskBytes: 10 * 1024 ** 3 },
      queueUrl: await h.queues.ensureWorkerQueue(other),
    });
    const taken = await runningTask();
    const kept = await runningTask();

    // What the reconciler does to a worker whose heartbeat is too old.
    await h.workers.setState(h.workerId, 'DOWN');
    const lost = await h.tasks.transition(taken, { to: 'LOST', by: 'reconciler' });
    const pending = await h.tasks.transition(lost, {
      to: 'PENDING',
      by: 'reconciler',
      patch: restartAttemptPatch(lost, 'reschedule'),
    });
    const elsewhere = await h.tasks.transition(pending, {
      to: 'SCHEDULED',
      by: 'scheduler',
      patch: signedFor(pending, other),
    });

    await waitFor(
      () => h.containersOf(taken.id),
      (c) => c.length === 0,
      'orphan stopped',
    );
    assert.ok(h.logs.some((l) => l.includes('registering again')));
    assert.equal((await h.workers.require(h.workerId)).state, 'READY');
    assert.deepEqual(await h.tasks.require(taken.id), elsewhere, 'the new placement untouched');
    const still = await h.tasks.require(kept.id);
    assert.equal(still.state, 'RUNNING');
    assert.equal((await h.containersOf(kept.id))[0]?.State, 'running');
  });

  it('after a crash, adopts running containers, records missed exits, redoes planned restarts', async () => {
    const adopted = await runningTask();
    const exiting = await runningTask({
      command: ['sh', '-c', 'sleep 1.5; exit 1'],
      restart: { mode: 'on-failure', maxRestarts: 1, maxReschedules: 0 },
    });
    // A task that failed just before the crash: its restart timer died with the process.
    const planned = await h.scheduleTask({ command: ['sleep', '300'] });
    let record: TaskRecord = planned;
    for (const to of ['STARTING', 'RUNNING', 'FAILED'] as const) {
      record = await h.tasks.transition(record, {
        to,
        by: `worker:${h.workerId}`,
        ...(to === 'FAILED'
          ? {
              reason: 'exited with code 1; restarting in place (1/3)',
              patch: {
                exitCode: 1,
                restart: { kind: 'in-place', at: new Date().toISOString() },
                restartDue: new Date().toISOString(),
              },
            }
          : {}),
      });
    }

    await h.agent.stop(); // the "crash": containers keep running
    await waitFor(
      () => h.containersOf(exiting.id),
      (c) => c[0]?.State === 'exited',
      'exit while the worker is away',
    );
    // A copy of the first run message arrives again.
    await h.send({ kind: 'run', taskId: adopted.id, attempt: 1 });

    const again = await startWorkerAgent({
      workerId: h.workerId,
      queueUrl: h.queueUrl,
      config: { ...h.config, restart: { ...h.config.restart, initialDelayMs: 100 } },
      docker: h.docker,
      clients: h.clients,
      queueWaitSeconds: 1,
      reconcileIntervalMs: 60_000,
      log: (line) => h.logs.push(line),
      controlPlaneKey: TEST_CONTROL_PLANE_KEY,
    });
    try {
      const restarted = await waitFor(
        () => h.tasks.require(exiting.id),
        (t) => t.attempt === 2 && t.state === 'RUNNING',
        'missed exit recorded and restarted in place',
      );
      assert.equal(restarted.restartCount, 1);
      const redone = await waitFor(
        () => h.tasks.require(planned.id),
        (t) => t.attempt === 2 && t.state === 'RUNNING',
        'planned restart carried out',
      );
      assert.equal(redone.restartCount, 1);
      // The duplicate run message is handled (and finds the record RUNNING: nothing to do).
      await new Promise((r) => setTimeout(r, 1500));
      const same = await h.tasks.require(adopted.id);
      assert.equal(same.state, 'RUNNING');
      assert.equal(same.containerId, adopted.containerId);
      assert.equal(same.version, adopted.version);
      for (const id of [adopted.id, planned.id]) {
        const containers = await h.containersOf(id);
        assert.equal(containers.length, 1, `one container for ${id}`);
      }
      assert.ok((await h.containersOf(exiting.id)).length <= 1);
    } finally {
      await again.stop();
    }
  });
});

// A stop never waits behind starts: with 20 run messages queued on a worker whose starts are
// held (a gate in front of the engine's create + start), a stop of a running task is handled
// at once. Before, the queue loop stopped receiving while its hand was full of runs waiting
// for a start slot, and the stop waited in SQS behind the whole backlog.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Docker from 'dockerode';
import type { TaskRecord } from '../../core/types.js';
import { DockerRuntime } from '../../worker/engine/dockerRuntime.js';
import { startHarness, stateOf, type WorkerHarness, waitFor } from './support.js';

/** The real runtime, with its starts held until the test opens the gate. */
class GatedRuntime extends DockerRuntime {
  private gate: Promise<void> = Promise.resolve();
  private open: () => void = () => {};
  close(): void {
    this.gate = new Promise((resolve) => {
      this.open = resolve;
    });
  }
  release(): void {
    this.open();
  }
  override async createAndStart(task: TaskRecord) {
    await this.gate;
    return super.createAndStart(task);
  }
}

describe('worker: stops before starts', { timeout: 180_000 }, () => {
  let h: WorkerHarness;
  let runtime: GatedRuntime;
  before(async () => {
    h = await startHarness('stopfirst', (workerId) => {
      runtime = new GatedRuntime(new Docker(), workerId, { startConcurrency: 1 });
      return { runtime, startConcurrency: 1 };
    });
  });
  after(async () => {
    runtime?.release();
    await h?.close();
  });

  it('handles a stop while 20 starts are queued, before them', { timeout: 150_000 }, async () => {
    const first = await h.scheduleTask();
    await h.send({ kind: 'run', taskId: first.id, attempt: 1 });
    const running = await waitFor(
      () => h.tasks.require(first.id),
      (t) => t.state === 'RUNNING',
      'the first task RUNNING',
    );

    runtime.close();
    const queued: TaskRecord[] = [];
    for (let i = 0; i < 20; i++) queued.push(await h.scheduleTask());
    for (const task of queued) await h.send({ kind: 'run', taskId: task.id, attempt: 1 });
    // What the API does on `cube stop`: STOPPING, then a stop message behind the 20 runs.
    await h.tasks.transition(running, { to: 'STOPPING', by: 'api', reason: 'stopped by user' });
    await h.send({ kind: 'stop', taskId: first.id, attempt: 1 });

    await waitFor(stateOf(h, first.id), (s) => s === 'STOPPED', 'the stop handled', 60_000);
    const states = await Promise.all(queued.map((t) => stateOf(h, t.id)()));
    assert.equal(
      states.filter((s) => s === 'RUNNING').length,
      0,
      'no queued start got through the gate before the stop',
    );
    // One start slot, twice that in hand: the rest wait unclaimed.
    assert.ok(states.filter((s) => s === 'SCHEDULED').length >= 18, states.join(','));

    runtime.release();
    for (const task of queued) {
      await waitFor(stateOf(h, task.id), (s) => s === 'RUNNING', `${task.id} RUNNING`, 90_000);
    }
    for (const task of queued) assert.equal((await h.containersOf(task.id)).length, 1);
  });
});

// The worker ships its containers' output to the control plane's log group (real engine,
// real emulator): in order, complete when the task's end is recorded, resumed without
// duplicates by a restarted worker, not at all for `logs: false`, and a flood costs drops,
// never the worker's heartbeat or its handling of a stop.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LogStore } from '../../aws/logStore.js';
import { logsClient } from '../../aws/logsClient.js';
import { logStreamName } from '../../core/logs/logNames.js';
import { startWorkerAgent } from '../../worker/agent.js';
import { LABEL_LOGS } from '../../worker/engine/containerOptions.js';
import { TEST_CONTROL_PLANE_KEY } from '../support/placement.js';
import { startHarness, stateOf, type WorkerHarness, waitFor } from './support.js';

let h: WorkerHarness;
let store: LogStore;

before(async () => {
  h = await startHarness('logship');
  store = new LogStore(logsClient(), h.config.logGroup);
});

after(async () => {
  await h?.close();
});

const linesOf = async (taskId: string, attempt = 1) =>
  (await store.readAll(logStreamName(taskId, attempt))).map((e) => e.message);

/** Numbers printed as `n <i>`, in the order shipped. */
const numbers = (lines: string[]) =>
  lines.filter((l) => l.startsWith('n ')).map((l) => Number(l.slice(2)));

describe('log shipping', () => {
  test('50 numbered lines, all in order by the time the task is COMPLETED', async () => {
    const task = await h.scheduleTask({
      command: ['sh', '-c', 'i=1; while [ $i -le 50 ]; do echo "n $i"; i=$((i+1)); done'],
    });
    await h.send({ kind: 'run', taskId: task.id, attempt: 1 });
    await waitFor(stateOf(h, task.id), (s) => s === 'COMPLETED', 'COMPLETED');
    // No waiting: the end is recorded only once the output is shipped.
    assert.deepEqual(
      numbers(await linesOf(task.id)),
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
  });

  test('stdout and stderr both, each in its order, as the engine timestamped them', async () => {
    const task = await h.scheduleTask({
      command: [
        'sh',
        '-c',
        'i=1; while [ $i -le 40 ]; do if [ $((i % 2)) = 0 ]; then echo "n $i" >&2; else echo "n $i"; fi; i=$((i+1)); done',
      ],
    });
    await h.send({ kind: 'run', taskId: task.id, attempt: 1 });
    await waitFor(stateOf(h, task.id), (s) => s === 'COMPLETED', 'COMPLETED');
    const events = await store.readAll(logStreamName(task.id, 1));
    const shipped = numbers(events.map((e) => e.message));
    // The engine reads the two pipes separately: a burst on both interleaves by its reads.
    assert.deepEqual(
      shipped.filter((n) => n % 2 === 1),
      Array.from({ length: 20 }, (_, i) => 2 * i + 1),
    );
    assert.deepEqual(
      shipped.filter((n) => n % 2 === 0),
      Array.from({ length: 20 }, (_, i) => 2 * i + 2),
    );
    for (let i = 1; i < events.length; i++) {
      assert.ok(events[i]!.timestamp >= events[i - 1]!.timestamp, 'in time order');
    }
  });

  test('logs: false ships nothing; every container gets bounded engine logs', async () => {
    const task = await h.scheduleTask({
      command: ['sh', '-c', 'echo secret; sleep 30'],
      logs: false,
    });
    await h.send({ kind: 'run', taskId: task.id, attempt: 1 });
    await waitFor(stateOf(h, task.id), (s) => s === 'RUNNING', 'RUNNING');
    const [container] = await h.containersOf(task.id);
    const info = await h.docker.getContainer(container!.Id).inspect();
    assert.equal(info.Config.Labels[LABEL_LOGS], 'off');
    assert.deepEqual(info.HostConfig.LogConfig, {
      Type: 'json-file',
      Config: { 'max-size': '10m', 'max-file': '3' },
    });
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(await linesOf(task.id), []);
  });

  test('a restarted worker resumes the stream: no line twice, none missing', async () => {
    const task = await h.scheduleTask({
      command: [
        'sh',
        '-c',
        'i=1; while [ $i -le 400 ]; do echo "n $i"; i=$((i+1)); sleep 0.02; done; sleep 60',
      ],
    });
    await h.send({ kind: 'run', taskId: task.id, attempt: 1 });
    await waitFor(
      () => linesOf(task.id),
      (lines) => lines.length >= 20,
      'the first lines shipped',
    );
    await h.agent.stop();
    // The container keeps printing while no worker reads it.
    await new Promise((r) => setTimeout(r, 1500));
    const again = await startWorkerAgent({
      workerId: h.workerId,
      queueUrl: h.queueUrl,
      config: h.config,
      docker: h.docker,
      clients: h.clients,
      queueWaitSeconds: 1,
      reconcileIntervalMs: 60_000,
      controlPlaneKey: TEST_CONTROL_PLANE_KEY,
    });
    try {
      const lines = await waitFor(
        () => linesOf(task.id),
        (lines) => numbers(lines).at(-1) === 400,
        'all 400 lines shipped',
        30_000,
      );
      assert.deepEqual(
        numbers(lines),
        Array.from({ length: 400 }, (_, i) => i + 1),
      );
      assert.ok(!lines.some((l) => l.startsWith('[cube]')), 'no gap, no drops');
    } finally {
      await again.stop();
    }
  });
});

describe('a container printing as fast as it can', () => {
  let flood: WorkerHarness;
  before(async () => {
    // A small buffer so this machine's engine outpaces the shipping for sure.
    flood = await startHarness('logflood', { logShipping: { bufferBytes: 64 * 1024 } });
  });
  after(async () => {
    await flood?.close();
  });

  test('drops are counted and said; heartbeats and a stop are handled meanwhile', async () => {
    const task = await flood.scheduleTask({
      command: ['sh', '-c', 'yes "$(printf %080d 0)"'],
      stopTimeoutSeconds: 1,
    });
    await flood.send({ kind: 'run', taskId: task.id, attempt: 1 });
    await waitFor(stateOf(flood, task.id), (s) => s === 'RUNNING', 'RUNNING');
    const beats: number[] = [];
    const watch = setInterval(async () => {
      const worker = await flood.workers.get(flood.workerId);
      if (worker?.heartbeatAt) beats.push(Date.parse(worker.heartbeatAt));
    }, 500);
    await new Promise((r) => setTimeout(r, 6000));
    clearInterval(watch);
    // Heartbeats kept coming (the harness beats every second).
    const distinct = [...new Set(beats)];
    assert.ok(distinct.length >= 3, `heartbeats during the flood: ${distinct.length}`);
    // A stop is carried out while the flood goes on.
    const running = await flood.tasks.require(task.id);
    await flood.tasks.transition(running, { to: 'STOPPING', by: 'test' });
    await flood.send({ kind: 'stop', taskId: task.id, attempt: 1 });
    await waitFor(stateOf(flood, task.id), (s) => s === 'STOPPED', 'STOPPED', 30_000);
    const counters = flood.agent.logShipping!.counters;
    assert.ok(counters.linesDropped > 0, 'lines were dropped');
    assert.ok(counters.linesShipped > 0, 'lines were shipped');
    const lines = await new LogStore(logsClient(), flood.config.logGroup).readAll(
      logStreamName(task.id, 1),
    );
    const said = lines
      .map((e) => /^\[cube\] (\d+) lines? dropped$/.exec(e.message)?.[1])
      .filter((n) => n !== undefined)
      .reduce((sum, n) => sum + Number(n), 0);
    assert.ok(said > 0, 'the stream says lines were dropped');
    assert.ok(said <= counters.linesDropped);
  });
});

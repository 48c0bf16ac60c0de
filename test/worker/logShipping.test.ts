// The worker ships its containers' output to the control plane's log group (real engine,
// real emulator): in order, complete when the task's end is recorded, resumed without
// duplicates by a restarted worker, not at all for `logs: false`, and a 10-s flood costs
// drops (counted and said), never the worker's heartbeat, its handling of a stop, or more of
// the host's disk than the engine's rotation allows.
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LogStore } from '../../aws/logStore.js';
import { logsClient } from '../../aws/logsClient.js';
import { heartbeatTtlFor } from '../../core/heartbeat.js';
import { logStreamName } from '../../core/logs/logNames.js';
import type { WorkerRecord } from '../../core/types.js';
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

  test('10 s of it: drops counted and said, heartbeats and a stop on time, engine logs bounded', {
    timeout: 120_000,
  }, async () => {
    // Long lines (the engine's cost is per line, so they fill its files ten times faster).
    // Left alone the flood ends by itself after a minute with status 7; ended by the stop
    // (sh as PID 1 ignores SIGTERM, so the stop's kill ends it), it is 137.
    const task = await flood.scheduleTask({
      command: ['sh', '-c', 'timeout 60 yes "$(printf %0800d 0)"; exit 7'],
      stopTimeoutSeconds: 1,
    });
    await flood.send({ kind: 'run', taskId: task.id, attempt: 1 });
    await waitFor(stateOf(flood, task.id), (s) => s === 'RUNNING', 'RUNNING');
    // The worker's record as the reconciler reads it, every 250 ms through the flood.
    const records: WorkerRecord[] = [];
    let watching = true;
    const watch = (async () => {
      while (watching) {
        const worker = await flood.workers.get(flood.workerId);
        if (worker) records.push(worker);
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    await new Promise((r) => setTimeout(r, 10_000));
    watching = false;
    await watch;

    // Heartbeats kept coming, none later than the silence the control plane allows before
    // it takes the worker for lost (its TTL, stretched by the interval the worker declared).
    assert.ok(records.every((w) => w.state === 'READY'));
    const beats = records.filter(
      (w, i) => i === 0 || w.heartbeatAt !== records[i - 1]!.heartbeatAt,
    );
    assert.ok(beats.length >= 5, `heartbeats during the flood: ${beats.length}`);
    for (let i = 1; i < beats.length; i++) {
      const silence = Date.parse(beats[i]!.heartbeatAt) - Date.parse(beats[i - 1]!.heartbeatAt);
      const allowed = heartbeatTtlFor(
        flood.config.heartbeatTtlMs,
        beats[i - 1]!.heartbeatIntervalMs,
      );
      assert.ok(silence <= allowed, `a ${silence}-ms silence; ${allowed} ms allowed`);
    }

    // The host's disk: the engine rotated the container's log (the flood outgrew one file)
    // and keeps at most its 3 files of 10 MiB.
    const [container] = await flood.containersOf(task.id);
    const { LogPath } = await flood.docker.getContainer(container!.Id).inspect();
    const files = readdirSync(dirname(LogPath)).filter((f) => f.startsWith(basename(LogPath)));
    assert.ok(files.includes(`${basename(LogPath)}.1`), `rotated: ${files.join(', ')}`);
    const onDisk = files.reduce((sum, f) => sum + statSync(join(dirname(LogPath), f)).size, 0);
    assert.ok(onDisk <= 3 * 10 * 1024 ** 2 + 64 * 1024, `${onDisk} bytes of engine logs`);

    // A stop is carried out while the flood goes on.
    const running = await flood.tasks.require(task.id);
    await flood.tasks.transition(running, { to: 'STOPPING', by: 'test' });
    await flood.send({ kind: 'stop', taskId: task.id, attempt: 1 });
    const stopped = await waitFor(
      () => flood.tasks.require(task.id),
      (t) => t.state === 'STOPPED',
      'STOPPED',
      30_000,
    );
    assert.ok([137, 143].includes(stopped.exitCode!), `ended by the stop: ${stopped.exitCode}`);

    // Drops counted, and said in the stream in their place.
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

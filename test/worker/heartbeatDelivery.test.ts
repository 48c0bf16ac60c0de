// A heartbeat that takes long to be stored (an overloaded control plane) declares that time
// with its interval, so the reconciler's allowance (three declared intervals) covers delivery
// too, and a live worker whose beats land late is not taken for lost.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { createAwsClients } from '../../aws/clients.js';
import { WorkerStore } from '../../aws/workerStore.js';
import { heartbeatTtlFor } from '../../core/heartbeat.js';
import { runHeartbeat } from '../../worker/control/heartbeat.js';
import { metrics } from '../core/schedulerFixtures.js';
import { ensureEmulator, provisionTestControlPlane } from '../support/aws.js';

/** A worker registered in its own control plane's tables on the emulator. */
async function registeredWorker(label: string): Promise<{ store: WorkerStore; id: string }> {
  await ensureEmulator();
  const store = new WorkerStore(createAwsClients().ddb, await provisionTestControlPlane(label));
  const id = `w-${label}-${Date.now().toString(36)}`;
  await store.register({
    id,
    name: id,
    labels: {},
    capacity: { cpuMillis: 1000, memoryBytes: 1024 ** 3, diskBytes: 0 },
    queueUrl: 'unused',
  });
  return { store, id };
}

test('a beat that took long to store widens the allowance by that time', {
  timeout: 60_000,
}, async () => {
  const { store, id } = await registeredWorker('hbdelivery');
  const intervalMs = 500;
  const deliveryMs = 1_500;
  const stop = new AbortController();
  const beats: number[] = [];
  const running = runHeartbeat({
    workerId: id,
    // The real store behind a slow channel: each beat is stored 1.5 s after it was sent.
    workers: {
      heartbeat: async (...args: Parameters<WorkerStore['heartbeat']>) => {
        await delay(deliveryMs);
        await store.heartbeat(...args);
        beats.push(Date.now());
      },
    },
    intervalMs,
    sampler: { sample: async () => metrics({ runningTasks: 1 }) },
    countRunningTasks: async () => 1,
    log: () => {},
    signal: stop.signal,
  });
  while (beats.length < 3) await delay(100);
  stop.abort();
  await running;

  const declared = (await store.get(id))?.heartbeatIntervalMs ?? 0;
  assert.ok(
    declared >= intervalMs + deliveryMs,
    `declared ${declared} ms: the interval plus the last beat's round trip`,
  );
  // Between two stored beats ~2 s pass here (interval + delivery): 2.5 declared intervals
  // cover that; 2.5 bare intervals (1.25 s) would not.
  const gap = beats[2]! - beats[1]!;
  assert.ok(
    heartbeatTtlFor(0, declared) > gap,
    `allowance ${heartbeatTtlFor(0, declared)} ms vs gap ${gap} ms`,
  );
  assert.ok(heartbeatTtlFor(0, intervalMs) < gap, 'without it the worker would look silent');
});

test('one slow beat among fast ones keeps the allowance wide for the beats after it', {
  timeout: 60_000,
}, async () => {
  const { store, id } = await registeredWorker('hbspike');
  const intervalMs = 200;
  const stop = new AbortController();
  const declared: number[] = [];
  let beat = 0;
  const running = runHeartbeat({
    workerId: id,
    // The second beat takes 1.5 s to store, the others go straight through.
    workers: {
      heartbeat: async (...args: Parameters<WorkerStore['heartbeat']>) => {
        if (++beat === 2) await delay(1_500);
        await store.heartbeat(...args);
        declared.push(args[3] ?? 0);
      },
    },
    intervalMs,
    sampler: { sample: async () => metrics({ runningTasks: 1 }) },
    countRunningTasks: async () => 1,
    log: () => {},
    signal: stop.signal,
  });
  while (declared.length < 6) await delay(50);
  stop.abort();
  await running;
  // Every beat after the slow one declares room for a delivery that slow, not just the one
  // right after it: a spike is what ages the stored time.
  for (const d of declared.slice(2, 6)) {
    assert.ok(d >= intervalMs + 1_500, `declared ${declared.join(', ')} ms`);
  }
});

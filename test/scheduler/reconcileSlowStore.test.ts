// A sweep whose own read of the workers is slow marks no worker DOWN: the store is
// overloaded, and the workers' heartbeat writes are most likely as late as that read. Nor do
// the sweeps of the next busy heartbeat interval and a second, while those delayed writes land;
// the first sweep after that does. The store here is the real one on the emulator, its
// worker listing delayed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkerStore } from '../../aws/workerStore.js';
import { reconcile } from '../../functions/reconciler/reconcile.js';
import { addWorker, schedulerDeps } from './support.js';

test('a slow store read suspends marking workers DOWN until delayed heartbeats can land', {
  timeout: 60_000,
}, async () => {
  const deps = await schedulerDeps('slow-store');
  const worker = await addWorker(deps, 'quiet', {
    cpuMillis: 1000,
    memoryBytes: 1024 ** 3,
    diskBytes: 0,
  });
  // Long past its TTL (the test control plane allows 600 s): silent by any measure.
  const now = new Date(Date.now() + 700_000);
  const slowWorkers: WorkerStore = Object.create(deps.workers);
  slowWorkers.list = async () => {
    await sleep(2_100);
    return deps.workers.list();
  };

  const slow = await reconcile({ ...deps, workers: slowWorkers }, { now });
  assert.equal(slow.workersDown, 0);
  assert.equal((await deps.workers.require(worker.id)).state, 'READY');

  // The store answers quickly again, but the beats it held up may still be on their way.
  const right = await reconcile(deps, { now });
  assert.equal(right.workersDown, 0, 'a quick read right after a slow one decides nothing');
  assert.equal((await deps.workers.require(worker.id)).state, 'READY');

  await sleep(deps.config.heartbeatIntervalMs + 1_100);
  const healthy = await reconcile(deps, { now });
  assert.equal(healthy.workersDown, 1);
  assert.equal((await deps.workers.require(worker.id)).state, 'DOWN');
});

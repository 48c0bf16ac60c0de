// What GET /v1/services/{name} shows of a rollout in flight: the slots' replicas, and the
// replaced ones still stopping listed apart (they hold a worker's room, but are no replica).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { serviceView } from '../../../functions/api/services/view.js';
import { replica, rollOut, steady, T0 } from './fixtures.js';

test('a replaced replica still stopping is shown apart, with its slot and old revision', () => {
  const { record } = steady(2);
  const rolling = rollOut(record, 2, T0);
  const fresh = replica(0, { revision: 2, gen: 2, createdAt: T0, runningSince: T0 + 1000 });
  const old = replica(0, { revision: 1, state: 'STOPPING', createdAt: T0 - 600_000 }).task!;
  const stopped = replica(1, { revision: 1, gen: 1, state: 'STOPPED', finishedAt: T0 }).task!;
  const slots = [
    { ...fresh, draining: [old.id, stopped.id], drainingTasks: [old, stopped] },
    replica(1, { revision: 1, createdAt: T0 - 600_000, runningSince: T0 - 600_000 }),
  ];
  const view = serviceView(rolling, slots, new Date(T0 + 2000));
  assert.deepEqual(
    view.replicaTasks.map((r) => [r.slot, r.revision, r.state]),
    [
      [0, 2, 'RUNNING'],
      [1, 1, 'RUNNING'],
    ],
  );
  // The stopped one is gone (the controller prunes it next); the stopping one is shown.
  assert.deepEqual(
    view.drainingTasks.map((r) => [r.slot, r.taskId, r.revision, r.state, r.healthy]),
    [[0, old.id, 1, 'STOPPING', false]],
  );
});

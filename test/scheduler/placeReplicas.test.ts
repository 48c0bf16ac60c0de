// The service controller's placement at creation (functions/services/placeReplicas.ts), on the
// emulator's worker table: new replicas are placed SCHEDULED, signed for their worker, spread
// over zones counting the service's live replicas, each seeing the reservations of those
// before it; a replica that does not fit, a spec naming another group, or placement at
// creation turned off leave the replica to the scheduler (undefined).
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { parsePlacementKey, placementSignatureProblem } from '../../core/placementSignature.js';
import { newTask } from '../../core/taskStateMachine.js';
import type { TaskRecord } from '../../core/types.js';
import { placeReplicas } from '../../functions/services/placeReplicas.js';
import type { Deps } from '../../functions/shared/deps.js';
import { replica, service } from '../core/services/fixtures.js';
import { TEST_CONTROL_PLANE_KEY } from '../support/placement.js';
import { addWorker, schedulerDeps } from './support.js';

let deps: Deps;
before(async () => {
  deps = await schedulerDeps('place-replicas');
});

/** New PENDING replicas of slots `from`.. of the fixture service `web`. */
function fresh(from: number, count: number): TaskRecord[] {
  return Array.from({ length: count }, (_, i) => {
    const { task } = replica(from + i, { gen: 2 });
    return newTask(task!.id, task!.spec, 'controller').task;
  });
}

test('new replicas are placed signed, spread over zones with the live ones, within room', {
  timeout: 120_000,
}, async () => {
  const spec = fresh(0, 1)[0]!.spec;
  // Room for exactly 3 replicas on each worker.
  const room = {
    cpuMillis: spec.resources.cpuMillis * 3,
    memoryBytes: spec.resources.memoryBytes * 3,
    diskBytes: 0,
  };
  const a = await addWorker(deps, 'zone-a', room, { zone: 'a' });
  const b = await addWorker(deps, 'zone-b', room, { zone: 'b' });
  // One live replica on a already: the first two new ones go to b, and they alternate.
  const live = replica(0, { state: 'RUNNING' });
  live.task = { ...live.task!, workerId: a.id };
  const tasks = fresh(1, 5);
  const { placed } = await placeReplicas(deps, service({ replicas: 6 }), [live], tasks);
  const on = placed.map((p) => p?.transition.after.workerId);
  assert.equal(on.filter((w) => w === a.id).length, 2, `placements: ${on.join(', ')}`);
  assert.equal(on.filter((w) => w === b.id).length, 3, `placements: ${on.join(', ')}`);
  assert.equal(on[0], b.id, 'the first new replica goes to the zone without one');
  for (const [i, p] of placed.entries()) {
    const after = p!.transition.after;
    assert.equal(after.state, 'SCHEDULED');
    assert.equal(after.id, tasks[i]!.id);
    assert.equal(p!.queueUrl, after.workerId === a.id ? a.queueUrl : b.queueUrl);
    assert.equal(
      placementSignatureProblem(after, after.workerId!, parsePlacementKey(TEST_CONTROL_PLANE_KEY)),
      undefined,
    );
  }
  // The cached view keeps those reservations (the live replica's is not in it: the fixture
  // never reserved it): room for one more on a, then nothing: left to the scheduler.
  const more = await placeReplicas(deps, service({ replicas: 8 }), [live], fresh(6, 2));
  assert.equal(more.placed[0]?.transition.after.workerId, a.id);
  assert.equal(more.placed[1], undefined);
});

test('a spec in another group, or placement at creation off, leaves replicas to the scheduler', async () => {
  const grouped = fresh(0, 2).map((t) => ({
    ...t,
    spec: { ...t.spec, labels: { ...t.spec.labels, 'cube.group': 'shared' } },
  }));
  const other = await placeReplicas(deps, service(), [], grouped);
  assert.deepEqual(other.placed, [undefined, undefined]);
  const off = { ...deps, config: { ...deps.config, placeOnSubmit: false } };
  const none = await placeReplicas(off, service(), [], fresh(0, 2));
  assert.deepEqual(none.placed, [undefined, undefined]);
});

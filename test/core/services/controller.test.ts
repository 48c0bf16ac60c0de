import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decideService, replaceBackoffMs } from '../../../core/services/controller.js';
import { isHealthy } from '../../../core/services/replicas.js';
import { iso, replica, rollOut, service, steady, T0, World } from './fixtures.js';

/** Runs the controller and the replicas' progress a second at a time until nothing changes. */
function settle(world: World, opts: { healthy?: (slot: number) => boolean; steps?: number } = {}) {
  const samples: { live: number; healthy: number }[] = [];
  for (let i = 0; i < (opts.steps ?? 200); i++) {
    const { view, decision } = world.decide();
    world.apply(view, decision);
    for (const slot of world.slots.keys()) world.progress(slot, opts.healthy?.(slot) ?? true);
    world.now += 1000;
    const live = world.live();
    samples.push({
      live: live.length,
      healthy: live.filter(
        (s) =>
          s.task!.state === 'RUNNING' &&
          isHealthy(s.task!, world.record.update.minHealthyTime, world.now),
      ).length,
    });
    if (decision.wakeAt === undefined && decision.creates.length === 0) break;
  }
  return samples;
}

test('a new service creates its replicas in the lowest slots and completes when healthy', () => {
  const record = service({}, { minHealthyTime: 2 });
  const first = decideService(record, [], new Date(T0));
  assert.deepEqual(
    first.creates.map((c) => [c.slot, c.gen, c.revision]),
    [
      [0, 1, 1],
      [1, 1, 1],
      [2, 1, 1],
    ],
  );
  assert.equal(first.rollout.state, 'progressing');
  assert.ok(first.wakeAt, 'looks again while not converged');
  const world = new World(record, []);
  settle(world);
  assert.equal(world.record.rollout.state, 'complete');
  assert.equal(world.record.stableRevision, 1);
  assert.match(world.record.rollout.reason, /revision 1 complete: 3\/3 replicas healthy/);
  assert.equal(world.live().length, 3);
  const { decision } = world.decide();
  assert.equal(decision.wakeAt, undefined, 'a converged service needs no further look');
  assert.deepEqual(decision.counts, {
    desired: 3,
    live: 3,
    running: 3,
    healthy: 3,
    updated: 3,
    stopping: 0,
  });
});

test('a rolling update surges one, stops an old one only once the new one is healthy', () => {
  const { record, slots } = steady(3, 1, { minHealthyTime: 3 });
  const world = new World(rollOut(record, 2, T0), slots);
  let { view, decision } = world.decide();
  assert.deepEqual(
    decision.creates.map((c) => [c.slot, c.revision]),
    [[3, 2]],
  );
  assert.deepEqual(decision.stops, [], 'no old replica stops before a new one is healthy');
  world.apply(view, decision);
  world.progress(3); // RUNNING
  world.progress(3); // healthy
  world.now += 2000;
  ({ view, decision } = world.decide());
  assert.deepEqual(decision.stops, [], 'healthy for less than minHealthyTime does not count');
  assert.equal(decision.wakeAt, iso(T0 + 3000), 'looks again when minHealthyTime is over');
  world.now += 1000;
  ({ view, decision } = world.decide());
  assert.deepEqual(
    decision.stops.map((s) => s.slot),
    [2],
  );
  // The old one stopping does not count against maxSurge: the same run starts its replacement
  // in its slot, once the stop has landed, and the slot lists the old one until it is gone.
  assert.deepEqual(
    decision.creates.map((c) => [c.slot, c.gen, c.afterStop, c.draining]),
    [[2, 2, 'web-abc123-s2-g1', ['web-abc123-s2-g1']]],
  );
  world.apply(view, decision);
  assert.equal(world.live().length, 4, 'replicas + maxSurge live');
  assert.equal(world.retiring().length, 1, 'and one stopping beside them');
  ({ decision } = world.decide());
  assert.equal(decision.counts.stopping, 1);
  assert.equal(decision.rollout.state, 'progressing');
  const samples = settle(world);
  assert.ok(
    samples.every((s) => s.live <= 4),
    'never more than replicas + maxSurge',
  );
  assert.ok(
    samples.every((s) => s.healthy >= 3),
    'never fewer healthy than replicas',
  );
  assert.equal(world.record.rollout.state, 'complete');
  assert.equal(world.record.stableRevision, 2);
  const live = world.live();
  assert.equal(live.length, 3);
  assert.ok(live.every((s) => s.revision === 2));
});

test('maxUnavailable 1 and maxSurge 0 replace in place, one below replicas at most', () => {
  const { record, slots } = steady(3, 1, { minHealthyTime: 1, maxSurge: 0, maxUnavailable: 1 });
  const world = new World(rollOut(record, 2, T0), slots);
  const { decision } = world.decide();
  assert.deepEqual(
    decision.stops.map((s) => s.slot),
    [2],
  );
  assert.deepEqual(
    decision.creates.map((c) => [c.slot, c.afterStop]),
    [[2, 'web-abc123-s2-g1']],
    'the replacement goes into the slot of the one stopped, once it is stopping',
  );
  const samples = settle(world);
  assert.ok(samples.every((s) => s.live <= 3));
  assert.ok(samples.every((s) => s.healthy >= 2));
  assert.equal(world.record.rollout.state, 'complete');
  assert.ok(world.live().every((s) => s.revision === 2));
});

test('a revision that never gets healthy is rolled back, with the reason in one line', () => {
  const { record, slots } = steady(2, 1, { minHealthyTime: 1, healthyDeadline: 5 });
  const world = new World(rollOut(record, 2, T0), slots);
  const samples = settle(world, { healthy: (slot) => world.slots.get(slot)!.revision !== 2 });
  assert.equal(world.record.rollout.state, 'rolled-back');
  assert.equal(world.record.revision, 1);
  assert.match(
    world.record.rollout.reason,
    /^revision 2 rolled back: 1\/1 new replicas were not healthy within 5 s \(not passing its health check yet\)$/,
  );
  assert.ok(
    samples.every((s) => s.healthy >= 2),
    'the old replicas kept serving',
  );
  assert.ok(world.live().every((s) => s.revision === 1));
  assert.equal(world.live().length, 2);
});

test('replicas failing their health check are named so in the reason', () => {
  const { record, slots } = steady(2, 1, { healthyDeadline: 5 });
  const rolled = rollOut(record, 2, T0);
  const failing = replica(2, {
    revision: 2,
    createdAt: T0,
    state: 'FAILED',
    health: 'unhealthy',
    restart: true,
  });
  const decision = decideService(rolled, [...slots, failing], new Date(T0 + 6000));
  assert.equal(decision.rollbackTo, 1);
  assert.equal(
    decision.rollout.reason,
    'revision 2 rolled back: 1/1 new replicas failed their health check (exit code 1)',
  );
  assert.deepEqual(
    decision.events.map((e) => e.kind),
    ['rollout-failed', 'rollback-started'],
  );
});

test('without autoRollback a failed rollout holds', () => {
  const { record, slots } = steady(2, 1, { healthyDeadline: 5, autoRollback: false });
  const rolled = rollOut(record, 2, T0);
  const pending = replica(2, { revision: 2, createdAt: T0, state: 'PENDING' });
  const decision = decideService(rolled, [...slots, pending], new Date(T0 + 6000));
  assert.equal(decision.rollbackTo, undefined);
  assert.equal(decision.rollout.state, 'failed');
  assert.match(decision.rollout.reason, /^revision 2 failed: 1\/1 new replicas were not healthy/);
  const later = decideService(
    { ...rolled, rollout: decision.rollout },
    [...slots, pending],
    new Date(T0 + 9000),
  );
  assert.deepEqual([later.creates, later.stops, later.wakeAt], [[], [], undefined]);
});

test('no step forward within progressDeadline fails the rollout', () => {
  const { record, slots } = steady(2, 1, {
    healthyDeadline: 100,
    progressDeadline: 100,
    minHealthyTime: 1,
  });
  const rolled = rollOut(record, 2, T0);
  // A new replica healthy, but the old ones never go (they are the only healthy ones left).
  const newOne = replica(2, { revision: 2, createdAt: T0, runningSince: T0 + 1000 });
  const decision = decideService(rolled, [...slots, newOne], new Date(T0 + 101_000));
  assert.equal(decision.rollbackTo, 1);
  assert.match(decision.rollout.reason, /no progress for 100 s \(1\/2 new replicas healthy\)/);
});

test('scale down stops the excess, those not healthy and the highest slots first', () => {
  const { record, slots } = steady(5, 1);
  slots[1] = replica(1, { state: 'STARTING', createdAt: T0 - 1000 });
  const decision = decideService({ ...record, replicas: 2 }, slots, new Date(T0));
  assert.deepEqual(
    decision.stops.map((s) => s.slot),
    [1, 4, 3],
  );
  assert.deepEqual(decision.creates, []);
});

test('scale up fills free slots; a scale is no rollout', () => {
  const { record, slots } = steady(3, 1, { minHealthyTime: 1 });
  const world = new World({ ...record, replicas: 5 }, slots);
  const { decision } = world.decide();
  assert.deepEqual(
    decision.creates.map((c) => c.slot),
    [3, 4],
  );
  settle(world);
  assert.equal(world.live().length, 5);
  assert.equal(world.record.rollout.state, 'complete');
  world.record = { ...world.record, replicas: 1 };
  settle(world);
  assert.equal(world.live().length, 1);
  assert.equal(world.live()[0]!.slot, 0);
});

test('a replica gone past its restart policy is replaced, with backoff while they keep failing', () => {
  const { record, slots } = steady(3, 1);
  slots[1] = replica(1, {
    state: 'FAILED',
    createdAt: T0 - 60_000,
    runningSince: T0 - 50_000,
    finishedAt: T0,
    failures: 2,
  });
  const early = decideService(record, slots, new Date(T0 + 1000));
  assert.deepEqual(early.creates, [], 'waits: the third failure in a row waits 4 s');
  assert.ok(Date.parse(early.wakeAt!) <= T0 + replaceBackoffMs(3), 'looks again by then');
  assert.deepEqual(decideService(record, slots, new Date(T0 + 3999)).creates, []);
  const due = decideService(record, slots, new Date(T0 + 4000));
  assert.deepEqual(
    due.creates.map((c) => [c.slot, c.gen, c.failures]),
    [[1, 2, 3]],
  );
  assert.equal(due.events[0]?.kind, 'replica-replaced');
  assert.match(due.events[0]!.reason, /replica web-1 .* replaced/);
  // A replica that ran for a long time before failing starts a fresh streak.
  slots[1] = replica(1, {
    state: 'LOST',
    createdAt: T0 - 3_600_000,
    runningSince: T0 - 3_600_000,
    finishedAt: T0,
    failures: 7,
  });
  const fresh = decideService(record, slots, new Date(T0 + 1000));
  assert.deepEqual(
    fresh.creates.map((c) => c.failures),
    [1],
  );
});

test('a replica with a restart planned is not replaced: its restart policy still holds it', () => {
  const { record, slots } = steady(3, 1);
  slots[2] = replica(2, { state: 'FAILED', restart: true, finishedAt: T0 });
  const decision = decideService(record, slots, new Date(T0 + 10_000));
  assert.deepEqual(decision.creates, []);
  assert.ok(decision.wakeAt);
});

test('delete stops every replica and ends when none is left', () => {
  const { record, slots } = steady(3, 1);
  const deleting = { ...record, deleting: true };
  const decision = decideService(deleting, slots, new Date(T0));
  assert.equal(decision.stops.length, 3);
  assert.equal(decision.deleted, false);
  assert.equal(decision.rollout.state, 'deleting');
  const gone = slots.map((s) => replica(s.slot, { state: 'STOPPED', finishedAt: T0 }));
  const done = decideService(deleting, gone, new Date(T0 + 1000));
  assert.equal(done.deleted, true);
  assert.equal(done.events[0]?.kind, 'deleted');
});

test('a slot forgets its draining replicas once they are seen gone', () => {
  const { record, slots } = steady(2, 1, { minHealthyTime: 1 });
  const world = new World(rollOut(record, 2, T0), slots);
  settle(world);
  assert.equal(world.record.rollout.state, 'complete');
  assert.equal(world.retiring().length, 0);
  const { decision } = world.decide();
  assert.deepEqual(decision.prunes, [], 'pruned on the way');
  assert.ok(
    [...world.slots.values()].every((s) => !s.draining),
    'no slot lists a gone replica',
  );
  // A delete waits for replicas still draining in a slot.
  const stopping = steady(1, 1);
  const slot = stopping.slots[0]!;
  const old = replica(0, { state: 'STOPPING' }).task!;
  const draining = {
    ...slot,
    draining: [old.id.replace('g1', 'g0')],
    drainingTasks: [{ ...old, id: old.id.replace('g1', 'g0') }],
  };
  const deleting = decideService({ ...stopping.record, deleting: true }, [draining], new Date(T0));
  assert.equal(deleting.deleted, false);
  assert.match(deleting.rollout.reason, /deleting: 2 replicas left/);
});

test('the same decision applied twice creates nothing more', () => {
  const world = new World(service({}, { minHealthyTime: 1 }), []);
  const { view, decision } = world.decide();
  assert.equal(world.apply(view, decision), 3);
  assert.equal(world.apply(view, decision), 0);
  assert.equal(world.live().length, 3);
});

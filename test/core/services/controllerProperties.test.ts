// Property: whatever the order of controller runs — fresh, late (a decision made on an old
// view applied now) or twice — and of the replicas' progress, a rolling update never has
// more than replicas + maxSurge live replicas (every replica created and not gone, except
// those stopping for good), never more than one live replica per slot, never fewer healthy
// than replicas - maxUnavailable while the old ones are healthy, and ends on the new
// revision with nothing left stopping.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { decideService } from '../../../core/services/controller.js';
import { isHealthy } from '../../../core/services/replicas.js';
import { rollingBounds } from '../../../core/services/spec.js';
import type { ServiceRecord } from '../../../core/services/types.js';
import { rollOut, steady, T0, World } from './fixtures.js';

const zero = (v: number | string) => v === 0 || v === '0%';
const policy = fc
  .record({
    replicas: fc.integer({ min: 1, max: 5 }),
    maxSurge: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constantFrom('0%', '25%', '50%', '100%')),
    maxUnavailable: fc.oneof(fc.integer({ min: 0, max: 2 }), fc.constantFrom('0%', '25%', '50%')),
    minHealthyTime: fc.constantFrom(0, 1, 3),
  })
  .filter(
    (p) =>
      !(zero(p.maxSurge) && zero(p.maxUnavailable)) &&
      rollingBounds(p, p.replicas).maxUnavailable <= p.replicas,
  );

const command = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ kind: 'run' as const }) },
  { weight: 2, arbitrary: fc.nat(4).map((back) => ({ kind: 'late' as const, back })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'twice' as const }) },
  // A slow run: decides now, applied only by a later `late`.
  { weight: 2, arbitrary: fc.constant({ kind: 'slow' as const }) },
  { weight: 3, arbitrary: fc.nat(3000).map((ms) => ({ kind: 'tick' as const, ms })) },
  { weight: 4, arbitrary: fc.nat(8).map((slot) => ({ kind: 'progress' as const, slot })) },
  // A write that changes nothing the controller looks at (health re-recorded, endpoints):
  // a late stop conditional on the version it saw then fails.
  { weight: 1, arbitrary: fc.constant({ kind: 'touch' as const }) },
);

type Made = { view: { record: ServiceRecord }; decision: ReturnType<typeof decideService> };

function healthyNow(world: World): number {
  return world
    .live()
    .filter((s) => isHealthy(s.task!, world.record.update.minHealthyTime, world.now)).length;
}

test('rolling updates stay within replicas + maxSurge and above the healthy floor', () => {
  fc.assert(
    fc.property(policy, fc.array(command, { maxLength: 120 }), (p, commands) => {
      const { record, slots } = steady(p.replicas, 1, {
        maxSurge: p.maxSurge,
        maxUnavailable: p.maxUnavailable,
        minHealthyTime: p.minHealthyTime,
      });
      const world = new World(rollOut(record, 2, T0), slots);
      const made: Made[] = [];
      // Percentages resolve as Kubernetes does (surge up, unavailable down).
      const bounds = rollingBounds(p, p.replicas);
      const ceiling = p.replicas + bounds.maxSurge;
      const floor = p.replicas - bounds.maxUnavailable;
      const check = (what: string) => {
        const live = world.live();
        assert.ok(live.length <= ceiling, `${what}: ${live.length} > ${ceiling}`);
        const slots = new Set(live.map((s) => s.task.serviceSlot));
        assert.equal(slots.size, live.length, `${what}: two live replicas in one slot`);
        assert.ok(healthyNow(world) >= floor, `${what}: ${healthyNow(world)} healthy < ${floor}`);
      };
      for (const c of commands) {
        if (c.kind === 'run' || c.kind === 'twice') {
          const m = world.decide();
          world.apply(m.view, m.decision);
          if (c.kind === 'twice') world.apply(m.view, m.decision);
          made.push(m);
        } else if (c.kind === 'slow') {
          made.push(world.decide());
        } else if (c.kind === 'late') {
          const m = made[made.length - 1 - c.back];
          if (m) world.apply(m.view, m.decision);
        } else if (c.kind === 'tick') {
          world.now += c.ms;
        } else if (c.kind === 'touch') {
          world.touch();
        } else {
          world.progress(c.slot);
        }
        check(c.kind);
      }
      // Then runs and progress without interference: the rollout completes.
      for (let i = 0; i < 400 && world.record.rollout.state !== 'complete'; i++) {
        const m = world.decide();
        world.apply(m.view, m.decision);
        for (const slot of world.slots.keys()) world.progress(slot);
        world.now += 500;
        check('settle');
      }
      assert.equal(world.record.rollout.state, 'complete', world.record.rollout.reason);
      const live = world.live();
      assert.equal(live.length, p.replicas);
      assert.ok(live.every((s) => s.revision === 2));
      assert.equal(world.retiring().length, 0, 'complete means nothing is left stopping');
    }),
    {
      numRuns: 300,
      examples: [
        // A run that stops a replica and fills its slot, applied after the replica changed:
        // the stop does not land, so neither may the create.
        [
          { replicas: 1, maxSurge: 0, maxUnavailable: 1, minHealthyTime: 0 },
          [{ kind: 'slow' }, { kind: 'touch' }, { kind: 'late', back: 0 }],
        ],
      ],
    },
  );
});

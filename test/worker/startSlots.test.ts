// The worker's cap on container starts at once: never more than the limit, every start runs,
// in the order asked, and a failed start frees its slot.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { StartSlots } from '../../worker/engine/startSlots.js';

test('never more than the limit at once, all run in order, failures free their slot', async () => {
  const slots = new StartSlots(3);
  let active = 0;
  let peak = 0;
  const order: number[] = [];
  const starts = Array.from({ length: 20 }, (_, i) =>
    slots.run(async () => {
      active++;
      peak = Math.max(peak, active);
      order.push(i);
      await tick();
      await tick();
      active--;
      if (i % 5 === 0) throw new Error(`start ${i} failed`);
      return i;
    }),
  );
  const results = await Promise.allSettled(starts);
  assert.equal(peak, 3);
  assert.deepEqual(order, [...Array(20).keys()]);
  assert.equal(results.filter((r) => r.status === 'rejected').length, 4);
  assert.equal(await slots.run(async () => 'after'), 'after', 'no slot was lost');
});

test('refuses a limit that is not a whole number >= 1', () => {
  assert.throws(() => new StartSlots(0), /whole number >= 1/);
  assert.throws(() => new StartSlots(1.5), /whole number >= 1/);
});

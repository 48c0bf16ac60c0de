// Declared capacity is bounded by what the host has: more is clamped to it, with a warning.
import assert from 'node:assert/strict';
import { cpus, totalmem } from 'node:os';
import { test } from 'node:test';
import { detectCapacity } from '../../worker/host/hostCapacity.js';

test('a worker declaring more cpu and memory than the host has offers the host', async () => {
  const logs: string[] = [];
  const capacity = await detectCapacity(
    { cpuMillis: 1_000_000, memoryBytes: 1024 ** 5, diskBytes: 1 },
    undefined,
    (line) => logs.push(line),
  );
  assert.equal(capacity.cpuMillis, cpus().length * 1000);
  assert.ok(capacity.memoryBytes <= totalmem() && capacity.memoryBytes > 0);
  assert.equal(logs.length, 2, logs.join('\n'));
  assert.match(logs[0]!, /--cpu 1000 is more than this host has \(\d+ cores\)/);
  assert.match(logs[1]!, /--memory of \d+ bytes is more than this host has/);
});

test('with oversubscribe, more than the host has is offered as declared, with a word', async () => {
  const logs: string[] = [];
  const asked = { cpuMillis: 1_000_000, memoryBytes: 1024 ** 5, diskBytes: 1 };
  const capacity = await detectCapacity(asked, undefined, (line) => logs.push(line), true);
  assert.deepEqual(capacity, asked);
  assert.equal(logs.length, 2, logs.join('\n'));
  assert.match(logs[0]!, /--cpu 1000 is more than this host has .*offered as declared/);
});

test('less than the host has is offered as declared, without a word', async () => {
  const logs: string[] = [];
  const capacity = await detectCapacity(
    { cpuMillis: 500, memoryBytes: 1024 ** 2, diskBytes: 1 },
    undefined,
    (line) => logs.push(line),
  );
  assert.deepEqual(capacity, { cpuMillis: 500, memoryBytes: 1024 ** 2, diskBytes: 1 });
  assert.deepEqual(logs, []);
});

// bench:throughput's CPU layout: the split itself, and that affinity and nice really reach
// the processes it spawns (read back from /proc), and the bench's own come back.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, getPriority } from 'node:os';
import { test } from 'node:test';
import { setAffinity, spawnedOn, splitCpus } from './cpuSplit.js';

const allowedCpus = (pid: number | 'self') =>
  /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '';

const sleeper = (): ChildProcess => spawn('sleep', ['30'], { stdio: 'ignore' });

test('the CPUs split in two halves, the host taking the odd one; none on one CPU', () => {
  assert.deepEqual(splitCpus(2), { host: '0', cloud: '1' });
  assert.deepEqual(splitCpus(3), { host: '0-1', cloud: '2' });
  assert.deepEqual(splitCpus(8), { host: '0-3', cloud: '4-7' });
  assert.equal(splitCpus(1), undefined);
});

test('setAffinity confines a running process; a child spawned under spawnedOn inherits', () => {
  // The last CPU and the first: two different ones wherever there are two (one CPU: "0").
  const last = String(cpus().length - 1);
  const own = allowedCpus('self');
  const ownNice = getPriority();
  const running = sleeper();
  // As root the child can be raised; otherwise only lowered (a higher nice value).
  const nice = process.getuid?.() === 0 ? -5 : undefined;
  let child: ChildProcess | undefined;
  try {
    setAffinity(running.pid!, last);
    assert.equal(allowedCpus(running.pid!), last);
    child = spawnedOn('0', own, sleeper, nice);
    assert.equal(allowedCpus(child.pid!), '0');
    if (nice !== undefined) assert.equal(getPriority(child.pid!), nice);
    assert.equal(allowedCpus('self'), own, 'the bench is back on its own CPUs');
    assert.equal(getPriority(), ownNice, 'and at its own priority');
  } finally {
    running.kill();
    child?.kill();
  }
});

test('setAffinity names the process it could not move', () => {
  assert.throws(() => setAffinity(2 ** 22 + 12_345, '0'), /process 4206649 does not exist/);
});

// The heartbeat's waker: work arriving on an idle worker cuts its long sleep short; work
// arriving on a busy one does not (it beats every few seconds anyway). And its host figures:
// read from the host at most once per HOST_SAMPLE_MAX_AGE_MS, the task count on every beat.
import assert from 'node:assert/strict';
import { cpus } from 'node:os';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { HeartbeatWaker, HostMetricsSampler } from '../../worker/control/heartbeat.js';
import { CpuUsage } from '../../worker/host/cpuUsage.js';

const STILL_ASLEEP = 'still asleep';
const settlesFirst = (sleeping: Promise<void>, ms: number) =>
  Promise.race([sleeping.then(() => 'woke'), delay(ms, STILL_ASLEEP)]);

test('a wake cuts an idle-length sleep short', async () => {
  const waker = new HeartbeatWaker();
  const signal = new AbortController().signal;
  const sleeping = waker.sleep(60_000, signal, true);
  waker.wake();
  assert.equal(await settlesFirst(sleeping, 5_000), 'woke');
});

test('a wake leaves a busy-length sleep alone', async () => {
  const waker = new HeartbeatWaker();
  const stop = new AbortController();
  const sleeping = waker.sleep(60_000, stop.signal, false);
  waker.wake();
  assert.equal(await settlesFirst(sleeping, 300), STILL_ASLEEP);
  stop.abort();
  await sleeping;
});

test('a wake that came mid-beat skips the next idle sleep, not a busy one', async () => {
  const waker = new HeartbeatWaker();
  const stop = new AbortController();
  waker.wake();
  assert.equal(await settlesFirst(waker.sleep(60_000, stop.signal, true), 5_000), 'woke');
  waker.wake();
  const busy = waker.sleep(60_000, stop.signal, false);
  assert.equal(await settlesFirst(busy, 300), STILL_ASLEEP);
  // ... and the wake was spent: the idle sleep after it is not skipped either.
  const idle = waker.sleep(60_000, stop.signal, true);
  assert.equal(await settlesFirst(idle, 300), STILL_ASLEEP);
  stop.abort();
  await Promise.all([busy, idle]);
});

test('host figures are reused within their age, the running count never is', async () => {
  const sampler = new HostMetricsSampler('/', 10_000);
  const t0 = new Date('2026-11-22T00:00:00Z');
  const first = await sampler.sample(1, t0);
  assert.ok(first.cpuCores > 0 && first.memTotalBytes > 0 && first.diskTotalBytes > 0);
  const later = await sampler.sample(7, new Date(t0.getTime() + 3_000));
  assert.equal(later.runningTasks, 7);
  assert.equal(later.at, '2026-11-22T00:00:03.000Z');
  const host = ({ at: _at, runningTasks: _n, load1: _l, ...figures }: typeof first) => figures;
  assert.deepEqual(host(later), host(first), 'the same host sample, 3 s later');
});

test("the host's CPU share is measured between two samples", () => {
  const usage = new CpuUsage();
  // Busy for 300 ms: at least one core's worth of ticks between the two samples.
  const until = performance.now() + 300;
  while (performance.now() < until) Math.sqrt(Math.random());
  const busy = usage.sample();
  assert.equal(busy.cores, cpus().length);
  assert.ok(busy.usage <= 1, `usage ${busy.usage}`);
  assert.ok(busy.usage >= 0.5 / busy.cores, `a busy core shows (usage ${busy.usage})`);
});

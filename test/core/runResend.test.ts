import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  placementUnanswered,
  runMessageOverdue,
  type SweepView,
  scheduledWorthReading,
  stopMessageOverdue,
} from '../../core/runResend.js';

describe('core: when a run message is sent again', () => {
  const placed = '2026-11-22T08:00:00.000Z';
  const at = (seconds: number) => new Date(Date.parse(placed) + seconds * 1000);
  const RESEND = 20_000;

  it('never before the resend delay', () => {
    assert.equal(runMessageOverdue(placed, {}, at(19.9), RESEND), false);
    const caughtUp = at(15).toISOString();
    assert.equal(runMessageOverdue(placed, { queueCaughtUpAt: caughtUp }, at(19), RESEND), false);
  });

  it('after the delay alone for a worker that does not say when its queue was empty', () => {
    assert.equal(runMessageOverdue(placed, {}, at(20), RESEND), true);
  });

  it('not while the worker has not found its queue empty since the placement', () => {
    // A backlog: the worker's last empty queue was before the task was placed.
    const before = at(-30).toISOString();
    assert.equal(runMessageOverdue(placed, { queueCaughtUpAt: before }, at(120), RESEND), false);
    // Soon after the placement: the message may still have been on its way.
    const soon = at(5).toISOString();
    assert.equal(runMessageOverdue(placed, { queueCaughtUpAt: soon }, at(120), RESEND), false);
  });

  it('once the worker found its queue empty well after the placement: the message was lost', () => {
    const later = at(10).toISOString();
    assert.equal(runMessageOverdue(placed, { queueCaughtUpAt: later }, at(20), RESEND), true);
  });

  it('not for a task with no placement time', () => {
    assert.equal(runMessageOverdue(undefined, {}, at(100), RESEND), false);
  });
});

describe('core: when a stop message is sent again', () => {
  const stopping = '2026-11-22T08:00:00.000Z';
  const at = (seconds: number) => new Date(Date.parse(stopping) + seconds * 1000);
  const RESEND = 20_000;
  const STOP_TIMEOUT = 10_000;

  it('never before the resend delay and the stop timeout', () => {
    assert.equal(stopMessageOverdue(stopping, {}, at(29.9), RESEND, STOP_TIMEOUT), false);
    assert.equal(stopMessageOverdue(stopping, {}, at(30), RESEND, STOP_TIMEOUT), true);
  });

  it('not while the worker has not found its queue empty since the stop was asked for', () => {
    const before = { queueCaughtUpAt: at(-5).toISOString() };
    assert.equal(stopMessageOverdue(stopping, before, at(300), RESEND, STOP_TIMEOUT), false);
  });

  it('once the worker found its queue empty well after it: the message was lost', () => {
    const later = { queueCaughtUpAt: at(10).toISOString() };
    assert.equal(stopMessageOverdue(stopping, later, at(30), RESEND, STOP_TIMEOUT), true);
    assert.equal(stopMessageOverdue(stopping, later, at(29), RESEND, STOP_TIMEOUT), false);
  });

  it('not for a task with no time', () => {
    assert.equal(stopMessageOverdue(undefined, {}, at(100), RESEND, STOP_TIMEOUT), false);
  });
});

describe('core: which SCHEDULED tasks a sweep reads', () => {
  const now = new Date('2026-11-22T10:00:00.000Z');
  const ago = (seconds: number) => new Date(now.getTime() - seconds * 1000).toISOString();
  const RESEND = 20_000;
  const worker = (over: Partial<SweepView>): SweepView => ({
    state: 'READY',
    heartbeatAt: ago(1),
    allocated: { cpuMillis: 0, memoryBytes: 0, diskBytes: 0, tasks: 3 },
    ...over,
  });

  it('in a burst, none of the backlog: every worker is beating and behind its queue', () => {
    // Queues last empty 200 s ago, before the burst; the backlog was created after.
    const fleet = [worker({ queueCaughtUpAt: ago(200) }), worker({ queueCaughtUpAt: ago(190) })];
    assert.equal(scheduledWorthReading(fleet, now, RESEND)?.toISOString(), ago(200));
  });

  it('up to the resend delay for a worker that does not say when its queue was empty', () => {
    const fleet = [worker({ queueCaughtUpAt: ago(200) }), worker({})];
    assert.equal(scheduledWorthReading(fleet, now, RESEND)?.toISOString(), ago(20));
  });

  it('up to the resend delay for a worker silent that long (its placements may be unanswered)', () => {
    const fleet = [worker({ queueCaughtUpAt: ago(200), heartbeatAt: ago(25) })];
    assert.equal(scheduledWorthReading(fleet, now, RESEND)?.toISOString(), ago(20));
  });

  it('all of them when a DOWN worker holds tasks; none of its own when it holds none', () => {
    assert.equal(scheduledWorthReading([worker({ state: 'DOWN' })], now, RESEND), undefined);
    const emptyDown = worker({ state: 'DOWN' });
    emptyDown.allocated = { ...emptyDown.allocated, tasks: 0 };
    assert.equal(scheduledWorthReading([emptyDown], now, RESEND)?.getTime(), 0);
  });

  it('never leaves out a task that needs a copy or shows its worker gone (random fleets)', () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const pick = (maxSeconds: number) => ago(random() * maxSeconds);
    let needing = 0;
    for (let round = 0; round < 500; round++) {
      const fleet = Array.from({ length: 1 + Math.floor(random() * 4) }, () =>
        worker({
          state: random() < 0.1 ? 'DOWN' : 'READY',
          heartbeatAt: pick(60),
          ...(random() < 0.8 ? { queueCaughtUpAt: pick(120) } : {}),
        }),
      );
      const cutoff = scheduledWorthReading(fleet, now, RESEND);
      for (let t = 0; t < 20; t++) {
        const on = fleet[Math.floor(random() * fleet.length)]!;
        const scheduledAt = pick(120);
        const createdAt = new Date(Date.parse(scheduledAt) - random() * 5_000);
        const needs =
          on.state === 'DOWN' ||
          runMessageOverdue(scheduledAt, on, now, RESEND) ||
          placementUnanswered(scheduledAt, on, now, RESEND);
        if (!needs) continue;
        needing++;
        if (cutoff) assert.ok(createdAt <= cutoff, `${createdAt.toISOString()} after ${cutoff}`);
      }
    }
    assert.ok(needing > 1000, `the rounds exercised the rule (${needing} tasks needing a look)`);
  });
});

describe('core: a placement no heartbeat answered', () => {
  const placed = '2026-11-22T08:00:00.000Z';
  const at = (seconds: number) => new Date(Date.parse(placed) + seconds * 1000);
  it('only after the resend delay, and only with no beat since the placement', () => {
    const before = { heartbeatAt: at(-1).toISOString() };
    assert.equal(placementUnanswered(placed, before, at(19), 20_000), false);
    assert.equal(placementUnanswered(placed, before, at(21), 20_000), true);
    const since = { heartbeatAt: at(3).toISOString() };
    assert.equal(placementUnanswered(placed, since, at(60), 20_000), false);
  });
});

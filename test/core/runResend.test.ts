import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runMessageOverdue } from '../../core/runResend.js';

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

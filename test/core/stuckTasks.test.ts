import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { STUCK_BOUNDS, stuckVerdict } from '../../core/stuckTasks.js';

const at = Date.parse('2026-12-01T10:00:00.000Z');
const ago = (ms: number) => new Date(at - ms).toISOString();
const now = new Date(at);

describe('core: stuck tasks', () => {
  it('fails a SCHEDULED task only past its bound, counted from the placement', () => {
    const placed = (ms: number) => ({
      state: 'SCHEDULED' as const,
      scheduledAt: ago(ms),
      updatedAt: ago(0),
    });
    assert.equal(stuckVerdict(placed(STUCK_BOUNDS.scheduledMs - 1_000), 'w1', now), undefined);
    const verdict = stuckVerdict(placed(STUCK_BOUNDS.scheduledMs + 1_000), 'w1', now);
    assert.deepEqual(verdict, {
      action: 'fail',
      reason: 'worker w1 did not pick it up within 20 min',
    });
  });

  it('fails a STARTING task past its bound', () => {
    const starting = (ms: number) => ({ state: 'STARTING' as const, updatedAt: ago(ms) });
    assert.equal(stuckVerdict(starting(STUCK_BOUNDS.startingMs), 'w1', now), undefined);
    assert.equal(stuckVerdict(starting(STUCK_BOUNDS.startingMs + 1), 'w1', now)?.action, 'fail');
  });

  it('stops a STOPPING task by force past its stop timeout and the margin', () => {
    const stopping = (ms: number, stopTimeoutSeconds: number) => ({
      state: 'STOPPING' as const,
      updatedAt: ago(ms),
      spec: { stopTimeoutSeconds },
    });
    const bound = 300_000 + STUCK_BOUNDS.stoppingMarginMs;
    assert.equal(stuckVerdict(stopping(bound - 1_000, 300), 'w1', now), undefined);
    const verdict = stuckVerdict(stopping(bound + 1_000, 300), 'w1', now);
    assert.equal(verdict?.action, 'force-stop');
    assert.match(verdict?.reason ?? '', /did not confirm the stop within 900 s/);
  });

  it('leaves other states alone however old', () => {
    for (const state of ['PENDING', 'RUNNING', 'FAILED', 'STOPPED'] as const) {
      assert.equal(stuckVerdict({ state, updatedAt: ago(86_400_000) }, 'w1', now), undefined);
    }
  });
});

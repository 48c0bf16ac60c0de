import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffDelay, decideRestart, RESTART_DEFAULTS } from '../../core/restartPolicy.js';
import { validateTaskSpec } from '../../core/taskSpec.js';
import { newTask } from '../../core/taskStateMachine.js';
import type { TaskRecord } from '../../core/types.js';

const NOW = new Date('2026-01-01T00:00:00Z');
const settings = { ...RESTART_DEFAULTS, initialDelayMs: 1000, maxDelayMs: 8000 };

function task(
  restart: string,
  over: Partial<TaskRecord> = {},
  maxReschedules?: number,
): TaskRecord {
  const spec = validateTaskSpec(
    { image: 'busybox', restart, ...(maxReschedules !== undefined ? { maxReschedules } : {}) },
    () => 'n',
  );
  return { ...newTask('t', spec, 'test', NOW).task, ...over };
}

test('backoff doubles from the initial delay up to the cap', () => {
  assert.deepEqual(
    [0, 1, 2, 3, 4, 10].map((n) => backoffDelay(n, settings)),
    [1000, 2000, 4000, 8000, 8000, 8000],
  );
});

test('never: a failure is final', () => {
  const d = decideRestart(task('never'), { kind: 'exit', exitCode: 1 }, settings, NOW);
  assert.equal(d.restart, undefined);
  assert.equal(d.reason, 'exited with code 1');
});

test('on-failure:N restarts in place N times with backoff, then reschedules, then gives up', () => {
  const t = task('on-failure:2', {}, 1);
  const first = decideRestart(t, { kind: 'exit', exitCode: 1 }, settings, NOW);
  assert.equal(first.restart?.kind, 'in-place');
  assert.equal(first.restart?.at, '2026-01-01T00:00:01.000Z');
  const second = decideRestart({ ...t, restartCount: 1 }, { kind: 'unhealthy' }, settings, NOW);
  assert.equal(second.restart?.kind, 'in-place');
  assert.equal(second.restart?.at, '2026-01-01T00:00:02.000Z');
  const third = decideRestart(
    { ...t, restartCount: 2 },
    { kind: 'exit', exitCode: 1 },
    settings,
    NOW,
  );
  assert.equal(third.restart?.kind, 'reschedule');
  const done = decideRestart(
    { ...t, restartCount: 2, rescheduleCount: 1 },
    { kind: 'exit', exitCode: 1 },
    settings,
    NOW,
  );
  assert.equal(done.restart, undefined);
  assert.match(done.reason, /reschedule limit 1 reached/);
});

test('a successful exit restarts only under always', () => {
  const ok = { kind: 'exit', exitCode: 0 } as const;
  assert.equal(decideRestart(task('on-failure'), ok, settings, NOW).restart, undefined);
  assert.equal(decideRestart(task('always'), ok, settings, NOW).restart?.kind, 'in-place');
});

test('a lost task is rescheduled at once the first time, whatever its policy', () => {
  const d = decideRestart(task('never'), { kind: 'lost' }, settings, NOW);
  assert.equal(d.restart?.kind, 'reschedule');
  assert.equal(d.restart?.at, NOW.toISOString());
  const later = decideRestart(
    task('never', { rescheduleCount: 2 }),
    { kind: 'lost' },
    settings,
    NOW,
  );
  assert.equal(later.restart?.at, '2026-01-01T00:00:02.000Z');
});

// `cube run --wait` and a planned restart: a FAILED task that will start again is not over.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runWaitOver } from '../../cli/commands/run.js';
import { describePlannedRestart, describeTask } from '../../cli/format.js';
import { createProgress } from '../../cli/progress.js';
import { newTask } from '../../core/taskStateMachine.js';
import type { TaskRecord } from '../../core/types.js';

const base = newTask(
  't0123456789ab',
  {
    name: 'job',
    image: 'busybox',
    command: ['false'],
    env: {},
    resources: { cpuMillis: 100, memoryBytes: 64 * 1024 ** 2, diskBytes: 0 },
    ports: [],
    restart: { mode: 'on-failure', maxRestarts: 3 },
    labels: {},
    network: 'none',
    stopSignal: 'SIGTERM',
    stopTimeoutSeconds: 10,
  },
  'api',
).task;
const now = new Date('2026-12-06T01:00:00.000Z');
const inFour = new Date(now.getTime() + 4000).toISOString();
const failed: TaskRecord = { ...base, state: 'FAILED', exitCode: 1, reason: 'exited with code 1' };
const planned: TaskRecord = { ...failed, restart: { kind: 'in-place', at: inFour } };

describe('cube run --wait and planned restarts', () => {
  it('keeps waiting through a failure with a restart planned, stops at one without', () => {
    assert.equal(runWaitOver(planned), false);
    assert.equal(runWaitOver({ ...planned, state: 'LOST' }), false);
    assert.equal(runWaitOver(failed), true);
    assert.equal(runWaitOver({ ...base, state: 'STOPPED' }), true);
    assert.equal(runWaitOver({ ...base, state: 'RUNNING', attempt: 2 }), true);
    for (const state of ['PENDING', 'SCHEDULED', 'STARTING'] as const) {
      assert.equal(runWaitOver({ ...base, state }), false);
    }
  });

  it('says when and where the next attempt starts', () => {
    assert.equal(
      describePlannedRestart(planned, now),
      'restarts in 4s as attempt 2 on the same worker',
    );
    assert.equal(
      describePlannedRestart({ ...planned, restart: { kind: 'reschedule', at: inFour } }, now),
      'restarts in 4s as attempt 2 on another worker',
    );
    const late = { ...planned, restart: { kind: 'in-place' as const, at: now.toISOString() } };
    assert.equal(describePlannedRestart(late, now), 'restarts now as attempt 2 on the same worker');
    assert.equal(describePlannedRestart(failed, now), undefined);
    assert.match(
      describeTask(planned),
      /^task t0123456789ab is FAILED \(exit code 1\): exited with code 1; restarts (in \d+s|now) as attempt 2 on the same worker$/,
    );
    assert.equal(
      describeTask(failed),
      'task t0123456789ab is FAILED (exit code 1): exited with code 1',
    );
  });

  it('says a planned restart on a line that stays, also when stderr is no terminal', () => {
    let piped = '';
    const plain = createProgress({ write: (chunk: string) => (piped += chunk) }, 'starting');
    plain.update('task t0123456789ab is STARTING');
    plain.note(describeTask(planned));
    plain.done('task t0123456789ab is RUNNING (attempt 2)');
    assert.equal(piped, `${describeTask(planned)}\ntask t0123456789ab is RUNNING (attempt 2)\n`);

    let shown = '';
    const tty = createProgress({ write: (chunk: string) => (shown += chunk), isTTY: true });
    tty.note('restarts in 4s');
    tty.done();
    assert.ok(shown.includes('\r\x1b[2Krestarts in 4s\n'), JSON.stringify(shown));
  });
});

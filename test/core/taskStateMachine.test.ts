import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidTransitionError } from '../../core/errors.js';
import { validateTaskSpec } from '../../core/taskSpec.js';
import {
  canTransition,
  newTask,
  stopRequest,
  transitionTask,
} from '../../core/taskStateMachine.js';
import { type PlannedRestart, TASK_STATES, type TaskRecord } from '../../core/types.js';

const spec = validateTaskSpec({ image: 'busybox', cpu: 0.5, memory: '64m', disk: '1g' }, () => 'n');
const fresh = () => newTask('t1', spec, 'test', new Date('2026-01-01T00:00:00Z')).task;

function walk(task: TaskRecord, ...steps: [TaskRecord['state'], Partial<TaskRecord>?][]) {
  let current = task;
  for (const [to, patch] of steps)
    current = transitionTask(current, { to, by: 'test', patch }).after;
  return current;
}

test('the lifecycle of DESIGN.md is allowed, step by step', () => {
  const done = walk(
    fresh(),
    ['SCHEDULED', { workerId: 'w1' }],
    ['STARTING'],
    ['RUNNING'],
    ['COMPLETED'],
  );
  assert.equal(done.state, 'COMPLETED');
  assert.equal(done.version, 5);
  assert.ok(done.finishedAt);
  const stopped = walk(fresh(), ['SCHEDULED', { workerId: 'w1' }], ['STOPPING'], ['STOPPED']);
  assert.equal(stopped.state, 'STOPPED');
});

test('transitions the machine does not allow are refused', () => {
  const task = fresh();
  assert.throws(() => transitionTask(task, { to: 'RUNNING', by: 'test' }), InvalidTransitionError);
  assert.throws(
    () => transitionTask(task, { to: 'COMPLETED', by: 'test' }),
    InvalidTransitionError,
  );
  const stopped = walk(task, ['STOPPED']);
  for (const to of TASK_STATES)
    assert.equal(canTransition(stopped.state, to), false, `STOPPED -> ${to}`);
});

test('SCHEDULED needs a worker', () => {
  assert.throws(
    () => transitionTask(fresh(), { to: 'SCHEDULED', by: 'test' }),
    InvalidTransitionError,
  );
});

test('placing reserves exactly the spec; leaving a holding state releases it once', () => {
  const placed = transitionTask(fresh(), { to: 'SCHEDULED', by: 's', patch: { workerId: 'w1' } });
  assert.deepEqual(placed.capacity, [
    {
      workerId: 'w1',
      kind: 'reserve',
      delta: { cpuMillis: 500, memoryBytes: 64 * 1024 ** 2, diskBytes: 1024 ** 3, tasks: 1 },
    },
  ]);
  const starting = transitionTask(placed.after, { to: 'STARTING', by: 'w' });
  assert.deepEqual(starting.capacity, [], 'moves between holding states change nothing');
  const failed = transitionTask(starting.after, { to: 'FAILED', by: 'w', patch: { exitCode: 3 } });
  assert.equal(failed.capacity.length, 1);
  assert.equal(failed.capacity[0]!.kind, 'release');
  assert.equal(failed.capacity[0]!.delta.memoryBytes, -64 * 1024 ** 2);
  assert.equal(failed.after.exitCode, 3);
  assert.equal(failed.after.workerId, 'w1', 'a failed task remembers where it ran');
});

test('a restart in place reserves again; going back to PENDING forgets the worker', () => {
  const failed = walk(fresh(), ['SCHEDULED', { workerId: 'w1' }], ['STARTING'], ['FAILED']);
  const again = transitionTask(failed, { to: 'SCHEDULED', by: 'w', patch: { attempt: 2 } });
  assert.equal(again.capacity[0]!.kind, 'reserve');
  assert.equal(again.after.attempt, 2);
  const pending = transitionTask(failed, { to: 'PENDING', by: 'r', patch: { attempt: 2 } });
  assert.equal(pending.after.workerId, undefined);
  assert.deepEqual(pending.capacity, []);
});

test('an attempt that has left STOPPING, LOST or an end is never placed again', () => {
  const running = walk(fresh(), ['SCHEDULED', { workerId: 'w1' }], ['STARTING'], ['RUNNING']);
  const stopping = transitionTask(running, { to: 'STOPPING', by: 'drain' }).after;
  const lost = transitionTask(running, { to: 'LOST', by: 'reconciler' }).after;
  const failed = transitionTask(running, { to: 'FAILED', by: 'w' }).after;
  for (const [task, to] of [
    [stopping, 'PENDING'],
    [lost, 'PENDING'],
    [failed, 'SCHEDULED'],
    [failed, 'PENDING'],
  ] as const) {
    assert.throws(
      () => transitionTask(task, { to, by: 't', patch: { workerId: 'w1' } }),
      /needs a new attempt/,
      `${task.state} -> ${to} at the same attempt`,
    );
    const again = transitionTask(task, { to, by: 't', patch: { workerId: 'w1', attempt: 2 } });
    assert.equal(again.after.attempt, 2);
  }
  // A placement not yet started may be given back and placed again as the same attempt.
  const placed = transitionTask(fresh(), { to: 'SCHEDULED', by: 's', patch: { workerId: 'w1' } });
  assert.equal(transitionTask(placed.after, { to: 'PENDING', by: 'r' }).after.attempt, 1);
});

test('every event records from, to, who and the version', () => {
  const { event } = transitionTask(fresh(), {
    to: 'SCHEDULED',
    by: 'scheduler',
    reason: 'placed',
    patch: { workerId: 'w9' },
  });
  assert.deepEqual(
    {
      from: event.from,
      to: event.to,
      by: event.by,
      version: event.version,
      workerId: event.workerId,
    },
    { from: 'PENDING', to: 'SCHEDULED', by: 'scheduler', version: 2, workerId: 'w9' },
  );
});

test('a stop cancels a planned restart unless the stop plans one (a drain)', () => {
  const failed = walk(
    fresh(),
    ['SCHEDULED', { workerId: 'w1' }],
    ['STARTING'],
    [
      'FAILED',
      {
        restart: { kind: 'in-place', at: '2026-01-01T00:00:01Z' },
        restartDue: '2026-01-01T00:00:01Z',
      },
    ],
  );
  assert.ok(failed.restart);
  const running = walk(fresh(), ['SCHEDULED', { workerId: 'w1' }], ['STARTING'], ['RUNNING']);
  const drained = transitionTask(running, {
    to: 'STOPPING',
    by: 'drain',
    patch: { restart: { kind: 'reschedule', at: 'x' }, restartDue: 'x' },
  }).after;
  assert.equal(drained.restart?.kind, 'reschedule');
  const userStop = transitionTask(drained, { to: 'STOPPED', by: 'user' }).after;
  assert.equal(userStop.restart, undefined);
  assert.equal(userStop.restartDue, undefined);
});

describe('a user stop wins over every plan to run the task again', () => {
  const inPlace = { kind: 'in-place' as const, at: '2026-01-01T00:00:05Z' };
  const later = { kind: 'reschedule' as const, at: '2026-01-01T00:00:05Z' };
  const running = () => walk(fresh(), ['SCHEDULED', { workerId: 'w1' }], ['STARTING'], ['RUNNING']);
  const ended = (to: 'FAILED' | 'COMPLETED', restart?: PlannedRestart) =>
    walk(running(), [to, restart ? { restart, restartDue: restart.at } : {}]);
  const stop = (task: TaskRecord) => {
    const request = stopRequest(task, 'api:user');
    return request && transitionTask(task, request);
  };

  test('a FAILED or COMPLETED task waiting for its restart ends STOPPED, its plan gone', () => {
    for (const [to, plan] of [
      ['FAILED', inPlace],
      ['FAILED', later],
      ['COMPLETED', inPlace],
    ] as const) {
      const waiting = ended(to, plan);
      const stopped = stop(waiting);
      assert.ok(stopped, `${to} with a ${plan.kind} planned`);
      assert.equal(stopped.after.state, 'STOPPED');
      assert.equal(stopped.after.restart, undefined, 'no timer or sweep finds a plan');
      assert.equal(stopped.after.restartDue, undefined, 'out of the restart index');
      assert.equal(stopped.after.version, waiting.version + 1, 'one conditional write');
      assert.equal(stopped.after.attempt, waiting.attempt, 'no new attempt');
      assert.deepEqual(stopped.capacity, [], 'an ended task held nothing');
      assert.equal(stopped.event.reason, 'stopped by user');
    }
  });

  test('a task ended with no plan stays as it ended; STOPPED stays STOPPED', () => {
    for (const task of [ended('FAILED'), ended('COMPLETED'), walk(fresh(), ['STOPPED'])]) {
      assert.equal(stopRequest(task, 'api:user'), undefined, task.state);
    }
    // The cancelling moves are refused without a plan, whoever asks.
    assert.throws(
      () => transitionTask(ended('FAILED'), { to: 'STOPPED', by: 'x' }),
      /only a planned restart is undone/,
    );
    assert.throws(
      () => transitionTask(ended('COMPLETED'), { to: 'STOPPED', by: 'x' }),
      /only a planned restart is undone/,
    );
  });

  test("a drain's STOPPING loses its reschedule; the worker then ends the task STOPPED", () => {
    const drained = transitionTask(running(), {
      to: 'STOPPING',
      by: 'drain',
      patch: { restart: later, restartDue: later.at },
    }).after;
    const stopped = stop(drained);
    assert.ok(stopped);
    assert.equal(stopped.after.state, 'STOPPING');
    assert.equal(stopped.after.restart, undefined);
    assert.equal(stopped.after.restartDue, undefined);
    assert.equal(stopped.after.workerId, 'w1', 'its worker still stops the container');
    assert.deepEqual(stopped.capacity, [], 'the reservation stays until the container is gone');
    // A user's STOPPING is not written again (the API only re-sends the nudge)...
    assert.equal(stopRequest(stopped.after, 'api:user'), undefined);
    assert.throws(
      () => transitionTask(stopped.after, { to: 'STOPPING', by: 'x' }),
      /only a planned restart is undone/,
    );
    // ...nor can a self-move put a plan back.
    assert.throws(
      () => transitionTask(drained, { to: 'STOPPING', by: 'x', patch: { restart: later } }),
      /only a planned restart is undone/,
    );
    assert.equal(transitionTask(stopped.after, { to: 'STOPPED', by: 'w' }).after.state, 'STOPPED');
  });

  test('every other state: PENDING and LOST stop at once, placed tasks go STOPPING', () => {
    const placed = walk(fresh(), ['SCHEDULED', { workerId: 'w1' }]);
    const lost = transitionTask(running(), {
      to: 'LOST',
      by: 'r',
      patch: { restart: later, restartDue: later.at },
    }).after;
    const expected: [TaskRecord, string][] = [
      [fresh(), 'STOPPED'],
      [lost, 'STOPPED'],
      [placed, 'STOPPING'],
      [walk(placed, ['STARTING']), 'STOPPING'],
      [running(), 'STOPPING'],
    ];
    for (const [task, to] of expected) {
      const stopped = stop(task);
      assert.equal(stopped?.after.state, to, task.state);
      assert.equal(stopped?.after.restart, undefined, `${task.state}: no plan survives`);
    }
    // Covers every state: none is forgotten when a state is added.
    for (const state of TASK_STATES) {
      assert.doesNotThrow(() => stopRequest({ ...fresh(), state }, 'x'), state);
    }
  });
});

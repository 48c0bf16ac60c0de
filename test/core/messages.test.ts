// A worker message's carried record is used only when it is a record of the task and attempt
// the message names; anything else is ignored (the worker then reads the record).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseWorkerMessage, recordFromAttribute } from '../../core/messages.js';
import { newTask, transitionTask } from '../../core/taskStateMachine.js';
import { task as specOf } from './schedulerFixtures.js';

const { task } = newTask('t1', specOf(), 'test');
const scheduled = transitionTask(task, {
  to: 'SCHEDULED',
  by: 's',
  patch: { workerId: 'w1' },
}).after;
const message = parseWorkerMessage(JSON.stringify({ kind: 'run', taskId: 't1', attempt: 1 }));

test('a carried record of the named task and attempt is taken as sent', () => {
  assert.deepEqual(recordFromAttribute(message, JSON.stringify(scheduled)), scheduled);
});

test('anything else is ignored, never an error', () => {
  const other = { ...scheduled, id: 't2' };
  const later = { ...scheduled, attempt: 2 };
  const { spec: _spec, ...noSpec } = scheduled;
  for (const value of [
    undefined,
    '',
    'not json',
    'null',
    JSON.stringify(other),
    JSON.stringify(later),
    JSON.stringify(noSpec),
    JSON.stringify({ ...scheduled, version: 'x' }),
  ]) {
    assert.equal(recordFromAttribute(message, value), undefined, String(value).slice(0, 40));
  }
});

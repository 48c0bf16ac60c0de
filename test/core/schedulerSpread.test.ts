// Spread: task groups, and placements that even a group out over a worker label's values.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { groupOf, placeTask, spreadKeyOf, TaskGroups } from '../../core/scheduler/index.js';
import type { WorkerRecord } from '../../core/types.js';
import { ctxAt, task, worker } from './schedulerFixtures.js';

const fleet = (): WorkerRecord[] => [
  worker('a1', { labels: { zone: 'a' } }),
  worker('a2', { labels: { zone: 'a' } }),
  worker('b1', { labels: { zone: 'b' } }),
  worker('c1', { labels: { zone: 'c' } }),
  worker('x', { labels: {} }),
];

test('a group is the label cube.group, else the task name; the key cube.spread-by, else zone', () => {
  assert.equal(groupOf(task({ name: 'web' })), 'web');
  assert.equal(groupOf(task({ name: 'web-1', labels: { 'cube.group': 'web' } })), 'web');
  assert.equal(spreadKeyOf(task()), 'zone');
  assert.equal(spreadKeyOf(task({ labels: { 'cube.spread-by': 'rack' } })), 'rack');
});

test('TaskGroups counts placed tasks per worker and per label value', () => {
  const workers = fleet();
  const groups = TaskGroups.fromTasks(
    [
      { spec: task({ name: 'web' }), workerId: 'a1' },
      { spec: task({ name: 'web' }), workerId: 'a2' },
      { spec: task({ name: 'web' }), workerId: 'gone' },
      { spec: task({ name: 'web' }) },
      { spec: task({ name: 'db' }), workerId: 'b1' },
    ],
    workers,
  );
  assert.equal(groups.onWorker('web', 'a1'), 1);
  assert.deepEqual([...groups.byLabel('web', 'zone')], [['a', 2]]);
  assert.deepEqual([...groups.byLabel('db', 'zone')], [['b', 1]]);
  assert.equal(groups.byLabel('nobody', 'zone').size, 0);
});

test('spread places replicas of a group round the zones, never on an unlabelled worker first', () => {
  const workers = fleet();
  const groups = new TaskGroups();
  const ctx = ctxAt({ taskGroups: groups });
  const zones: string[] = [];
  for (let i = 0; i < 6; i++) {
    const d = placeTask(task({ name: 'web' }), workers, 'spread', ctx);
    groups.add('web', d.worker!);
    zones.push(d.worker!.labels.zone!);
  }
  // each zone gets one before any gets a second
  assert.deepEqual(zones.slice(0, 3).sort(), ['a', 'b', 'c']);
  assert.deepEqual(zones.slice(3).sort(), ['a', 'b', 'c']);
  // within zone a the two replicas went to different workers
  const d = placeTask(task({ name: 'other' }), workers, 'spread', ctx);
  assert.notEqual(d.workerId, 'x');
});

test('spread only counts the task’s own group and honours cube.spread-by', () => {
  const workers = [
    worker('r1', { labels: { zone: 'a', rack: '1' } }),
    worker('r2', { labels: { zone: 'a', rack: '2' } }),
  ];
  const groups = new TaskGroups();
  groups.add('web', workers[0]!, 3);
  const ctx = ctxAt({ taskGroups: groups });
  const byRack = task({ name: 'web', labels: { 'cube.spread-by': 'rack' } });
  assert.equal(placeTask(byRack, workers, 'spread', ctx).workerId, 'r2');
  // another group does not care where web is (ties keep input order)
  assert.equal(placeTask(task({ name: 'db' }), workers, 'spread', ctx).workerId, 'r1');
});

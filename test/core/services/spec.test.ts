import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { ValidationError } from '../../../core/errors.js';
import { planApply } from '../../../core/services/canonical.js';
import {
  rollingBounds,
  UPDATE_DEFAULTS,
  validateServiceSpec,
} from '../../../core/services/spec.js';
import { service } from './fixtures.js';

function rejects(input: unknown, field: string, rule?: RegExp, name = 'web') {
  assert.throws(
    () => validateServiceSpec(input, name),
    (error: unknown) => {
      assert.ok(error instanceof ValidationError, String(error));
      assert.equal(error.field, field, error.message);
      if (rule) assert.match(error.rule, rule);
      return true;
    },
  );
}

test('a minimal service spec gets the documented defaults', () => {
  const spec = validateServiceSpec({ task: { image: 'busybox' } }, 'web');
  assert.equal(spec.name, 'web');
  assert.equal(spec.replicas, 1);
  assert.deepEqual(spec.update, UPDATE_DEFAULTS);
  assert.deepEqual(spec.update, {
    maxSurge: 1,
    maxUnavailable: 0,
    minHealthyTime: 10,
    healthyDeadline: 300,
    progressDeadline: 600,
    autoRollback: true,
  });
  assert.equal(spec.task.name, 'web', 'the task is named after the service');
  assert.deepEqual(spec.task.restart, { mode: 'always' }, 'replicas restart always by default');
});

test('the spec may choose its own restart policy and update settings', () => {
  const spec = validateServiceSpec(
    {
      name: 'web',
      replicas: 3,
      task: { image: 'busybox', restart: 'on-failure:2' },
      update: { maxSurge: 2, minHealthyTime: 0.5, autoRollback: false },
    },
    'web',
  );
  assert.deepEqual(spec.task.restart, { mode: 'on-failure', maxRestarts: 2 });
  assert.equal(spec.update.maxSurge, 2);
  assert.equal(spec.update.minHealthyTime, 0.5);
  assert.equal(spec.update.autoRollback, false);
  assert.equal(spec.update.healthyDeadline, 300);
});

test('errors name the field and the rule', () => {
  rejects({ task: { image: 'busybox' } }, 'name', /lower-case/, 'Web_1');
  rejects({ task: { image: 'busybox' } }, 'name', /at most 40/, 'a'.repeat(41));
  rejects({ name: 'api', task: { image: 'busybox' } }, 'name', /path/);
  rejects({}, 'task', /required/);
  rejects({ task: {} }, 'task.image', /required/);
  rejects({ task: { image: 'busybox', name: 'x' } }, 'task.name', /unknown field/);
  rejects({ task: { image: 'busybox', memory: '1m' } }, 'task.memory', /at least 6m/);
  rejects({ task: { image: 'busybox' }, replicas: -1 }, 'replicas');
  rejects({ task: { image: 'busybox' }, replicas: 1.5 }, 'replicas', /whole/);
  rejects({ task: { image: 'busybox' }, replicas: 1001 }, 'replicas');
  rejects(
    { task: { image: 'busybox' }, update: { maxSurge: 0 } },
    'update.maxSurge',
    /maxUnavailable is 0 too/,
  );
  rejects(
    { task: { image: 'busybox' }, update: { minHealthyTime: 400 } },
    'update.healthyDeadline',
    /more than minHealthyTime/,
  );
  rejects(
    { task: { image: 'busybox' }, update: { progressDeadline: 100 } },
    'update.progressDeadline',
    /at least healthyDeadline/,
  );
  rejects(
    { task: { image: 'busybox' }, update: { maxSurge: '0%', maxUnavailable: 0 } },
    'update.maxSurge',
    /maxUnavailable is 0 too/,
  );
  rejects(
    { task: { image: 'busybox' }, update: { maxSurge: '101%' } },
    'update.maxSurge',
    /whole number or a percentage 0%\.\.100%, such as 25%/,
  );
  rejects(
    { task: { image: 'busybox' }, update: { maxUnavailable: '25' } },
    'update.maxUnavailable',
    /percentage/,
  );
  rejects(
    { task: { image: 'busybox' }, update: { maxUnavailable: true } },
    'update.maxUnavailable',
    /whole number or a percentage/,
  );
  rejects({ task: { image: 'busybox' }, update: { surge: 1 } }, 'update.surge', /unknown/);
  rejects({ task: { image: 'busybox' }, extra: true }, 'extra', /unknown/);
});

test('maxSurge and maxUnavailable may be percentages of replicas, rounded as Kubernetes does', () => {
  const spec = validateServiceSpec(
    {
      replicas: 10,
      task: { image: 'busybox' },
      update: { maxSurge: '25%', maxUnavailable: '25%' },
    },
    'web',
  );
  assert.deepEqual([spec.update.maxSurge, spec.update.maxUnavailable], ['25%', '25%']);
  // The surge rounds up, the unavailable down: 2.5 -> 3 and 2.
  assert.deepEqual(rollingBounds(spec.update, 10), { maxSurge: 3, maxUnavailable: 2 });
  assert.deepEqual(rollingBounds(spec.update, 4), { maxSurge: 1, maxUnavailable: 1 });
  assert.deepEqual(rollingBounds({ maxSurge: 2, maxUnavailable: '10%' }, 9), {
    maxSurge: 2,
    maxUnavailable: 0,
  });
  // Both 0 for few replicas: one may be unavailable, so a rollout can still start.
  assert.deepEqual(rollingBounds({ maxSurge: '0%', maxUnavailable: '25%' }, 3), {
    maxSurge: 0,
    maxUnavailable: 1,
  });
  assert.deepEqual(rollingBounds({ maxSurge: 1, maxUnavailable: 0 }, 3), {
    maxSurge: 1,
    maxUnavailable: 0,
  });
});

test('the same spec in another key order is the same: no revision, no scale', () => {
  const a = validateServiceSpec(
    { replicas: 3, task: { image: 'busybox', env: { A: '1', B: '2' }, labels: { x: 'y' } } },
    'web',
  );
  const b = validateServiceSpec(
    { task: { labels: { x: 'y' }, env: { B: '2', A: '1' }, image: 'busybox' }, replicas: 3 },
    'web',
  );
  const current = service({ replicas: 3, task: a.task, update: a.update });
  const plan = planApply(current, b);
  assert.equal(plan.change, 'unchanged');
  assert.equal(plan.newRevision, false);
  assert.deepEqual(plan.changes, []);
});

test('replicas alone is a scale; a task change is a revision; update alone is a policy', () => {
  const base = validateServiceSpec({ replicas: 3, task: { image: 'busybox:1' } }, 'web');
  const current = service({ replicas: 3, task: base.task, update: base.update });
  const scaled = planApply(current, { ...base, replicas: 5 });
  assert.equal(scaled.change, 'scale');
  assert.deepEqual(scaled.changes, [{ field: 'replicas', from: 3, to: 5 }]);
  const changed = validateServiceSpec(
    { replicas: 3, task: { image: 'busybox:2', env: { MODE: 'x' } } },
    'web',
  );
  const plan = planApply(current, changed);
  assert.equal(plan.change, 'revision');
  assert.deepEqual(plan.changes, [
    { field: 'task.env.MODE', to: 'x' },
    { field: 'task.image', from: 'busybox:1', to: 'busybox:2' },
  ]);
  const policy = planApply(current, { ...base, update: { ...base.update, maxSurge: 3 } });
  assert.equal(policy.change, 'update-policy');
  assert.equal(policy.newRevision, false);
  assert.equal(planApply(undefined, base).change, 'created');
});

test('examples/services/web.yaml is a valid service spec', () => {
  const file = new URL('../../../examples/services/web.yaml', import.meta.url);
  const spec = validateServiceSpec(parseYaml(readFileSync(file, 'utf8')), 'web');
  assert.equal(spec.replicas, 3);
  assert.deepEqual(spec.task.command.slice(0, 2), ['sh', '-c']);
  assert.ok(spec.task.healthCheck?.command);
  assert.equal(spec.update.minHealthyTime, 5);
});

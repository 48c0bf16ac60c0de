// Constraints on worker labels: syntax, validation at submit, matching, and the reasons.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValidationError } from '../../core/errors.js';
import {
  constraintsMatch,
  matchesConstraint,
  parseConstraint,
  parseConstraints,
  placeTask,
} from '../../core/scheduler/index.js';
import { validateTaskSpec } from '../../core/taskSpec.js';
import { allocated, ctxAt, GiB, task, worker } from './schedulerFixtures.js';

const parse = (text: string) => {
  const c = parseConstraint(text);
  assert.notEqual(typeof c, 'string', `${text}: ${String(c)}`);
  return c as Exclude<ReturnType<typeof parseConstraint>, string>;
};

test('parses every operator into a canonical spelling', () => {
  const cases: [string, string, string, string[]][] = [
    ['zone=a', 'zone=a', '=', ['a']],
    [' zone == a ', 'zone=a', '=', ['a']],
    ['zone!=a', 'zone!=a', '!=', ['a']],
    ['zone in (a, b,a)', 'zone in (a,b)', 'in', ['a', 'b']],
    ['zone  NOT  in(a,b)', 'zone not in (a,b)', 'not in', ['a', 'b']],
    ['gpu exists', 'gpu exists', 'exists', []],
    ['gpu not exists', 'gpu not exists', 'not exists', []],
    ['topology.cube/rack=r-1.2', 'topology.cube/rack=r-1.2', '=', ['r-1.2']],
  ];
  for (const [input, text, op, values] of cases) {
    const c = parse(input);
    assert.equal(c.text, text, input);
    assert.equal(c.op, op, input);
    assert.deepEqual(c.values, values, input);
    assert.equal(c.reason, `constraint ${text}`);
  }
});

test('rejects what it cannot read, saying what a constraint looks like', () => {
  for (const bad of [
    'zone',
    'zone=',
    '=a',
    'zone in a,b',
    'zone in ()',
    'zone in (a,)',
    'zone ~ a',
    'zone=a b',
  ]) {
    const c = parseConstraint(bad);
    assert.equal(typeof c, 'string', bad);
  }
  assert.match(
    String(parseConstraint('zone ~ a')),
    /must be like zone=a, zone!=a, zone in \(a,b\)/,
  );
  assert.match(String(parseConstraint('zone in (a,)')), /empty value/);
  assert.throws(
    () => parseConstraints(['zone=a', 'zone in ()']),
    (e: unknown) => e instanceof ValidationError && e.field === 'constraints.1',
  );
});

test('validateTaskSpec stores canonical constraints and names the bad one (400 text)', () => {
  const spec = validateTaskSpec(
    { image: 'busybox', constraints: ['zone in (a , b)', 'gpu exists'] },
    () => 'x',
  );
  assert.deepEqual(spec.constraints, ['zone in (a,b)', 'gpu exists']);
  assert.equal(validateTaskSpec({ image: 'busybox' }, () => 'x').constraints, undefined);
  assert.throws(
    () => validateTaskSpec({ image: 'busybox', constraints: ['zone=a', 'zone is a'] }, () => 'x'),
    (e: unknown) =>
      e instanceof ValidationError &&
      /^constraints\.1: 'zone is a' must be like zone=a/.test(e.message),
  );
  assert.throws(
    () => validateTaskSpec({ image: 'busybox', constraints: 'zone=a' }, () => 'x'),
    ValidationError,
  );
});

test('matching: != and not in hold where the label is missing, as in Kubernetes', () => {
  const a = { zone: 'a' };
  const none = {};
  const m = (text: string, labels: Record<string, string>) =>
    matchesConstraint(parse(text), labels);
  assert.equal(m('zone=a', a), true);
  assert.equal(m('zone=a', none), false);
  assert.equal(m('zone!=a', a), false);
  assert.equal(m('zone!=b', a), true);
  assert.equal(m('zone!=a', none), true);
  assert.equal(m('zone in (a,b)', a), true);
  assert.equal(m('zone in (b,c)', a), false);
  assert.equal(m('zone in (a,b)', none), false);
  assert.equal(m('zone not in (b,c)', a), true);
  assert.equal(m('zone not in (a)', a), false);
  assert.equal(m('zone not in (a)', none), true);
  assert.equal(m('zone exists', a), true);
  assert.equal(m('zone exists', none), false);
  assert.equal(m('zone not exists', none), true);
  // inherited properties are not labels
  assert.equal(m('constructor exists', none), false);
});

test('the filter names the first unmet constraint', () => {
  const t = task({ constraints: ['zone in (a,b)', 'gpu exists'] });
  assert.equal(
    constraintsMatch.filter(t, worker('1', { labels: { zone: 'c' } }), ctxAt()),
    'constraint zone in (a,b)',
  );
  assert.equal(
    constraintsMatch.filter(t, worker('2', { labels: { zone: 'a' } }), ctxAt()),
    'constraint gpu exists',
  );
  assert.equal(
    constraintsMatch.filter(t, worker('3', { labels: { zone: 'b', gpu: '1' } }), ctxAt()),
    undefined,
  );
  assert.equal(constraintsMatch.filter(task(), worker('4'), ctxAt()), undefined);
});

test('PENDING reason: 0/5 workers fit: 3 insufficient memory, 2 constraint zone=b', () => {
  const full = allocated(0, 8 * GiB);
  const workers = [
    worker('a1', { labels: { zone: 'a' } }),
    worker('a2', { labels: { zone: 'a' } }),
    worker('b1', { labels: { zone: 'b' }, allocated: full }),
    worker('b2', { labels: { zone: 'b' }, allocated: full }),
    worker('b3', { labels: { zone: 'b' }, allocated: full }),
  ];
  for (const policy of ['epvm', 'bin-pack', 'spread', 'round-robin', 'least-allocated']) {
    const d = placeTask(task({ constraints: ['zone=b'] }), workers, policy, ctxAt());
    assert.equal(d.reason, '0/5 workers fit: 3 insufficient memory, 2 constraint zone=b', policy);
    assert.deepEqual(d.explanation.rejected, { 'insufficient memory': 3, 'constraint zone=b': 2 });
  }
  // and with room in zone b, the task lands there whatever the policy
  workers[3]!.allocated = allocated(0, 0, 0);
  for (const policy of ['epvm', 'bin-pack', 'spread', 'round-robin', 'least-allocated']) {
    assert.equal(
      placeTask(task({ constraints: ['zone=b'] }), workers, policy, ctxAt()).workerId,
      'b2',
    );
  }
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValidationError } from '../../core/errors.js';
import { parseRestartPolicy, validateTaskSpec } from '../../core/taskSpec.js';
import { parseSize } from '../../core/units.js';

const valid = (input: unknown) => validateTaskSpec(input, () => 'default-name');

function rejects(input: unknown, field: string, rule?: RegExp) {
  assert.throws(
    () => valid(input),
    (error: unknown) => {
      assert.ok(error instanceof ValidationError, String(error));
      assert.equal(error.field, field, error.message);
      if (rule) assert.match(error.rule, rule);
      return true;
    },
  );
}

test('sizes accept bytes and binary units', () => {
  assert.equal(parseSize('64m'), 64 * 1024 ** 2);
  assert.equal(parseSize('1g'), 1024 ** 3);
  assert.equal(parseSize('1.5GiB'), 1.5 * 1024 ** 3);
  assert.equal(parseSize(1048576), 1048576);
  assert.equal(parseSize('12q'), undefined);
  assert.equal(parseSize(-1), undefined);
});

test('a minimal spec gets the documented defaults', () => {
  const spec = valid({ image: 'busybox' });
  assert.equal(spec.name, 'default-name');
  assert.deepEqual(spec.resources, { cpuMillis: 100, memoryBytes: 128 * 1024 ** 2, diskBytes: 0 });
  assert.deepEqual(spec.restart, { mode: 'never' });
  assert.equal(spec.network, 'bridge');
  assert.equal(spec.stopSignal, 'SIGTERM');
  assert.equal(spec.stopTimeoutSeconds, 10);
});

test('a full spec is normalised', () => {
  const spec = valid({
    image: 'registry.local:5000/team/app:1.2@sha256:' + 'a'.repeat(64),
    name: 'web',
    command: ['httpd', '-f'],
    env: { PORT: '8080' },
    cpu: 0.25,
    memory: '1g',
    disk: '512m',
    ports: [{ container: 8080, host: 8080 }],
    restart: 'on-failure:5',
    labels: { team: 'a' },
    network: 'host',
    healthCheck: { http: { port: 8080, path: '/health' }, retries: 2 },
  });
  assert.equal(spec.resources.cpuMillis, 250);
  assert.equal(spec.resources.memoryBytes, 1024 ** 3);
  assert.deepEqual(spec.restart, { mode: 'on-failure', maxRestarts: 5 });
  assert.deepEqual(spec.ports, [{ container: 8080, host: 8080, protocol: 'tcp' }]);
  assert.equal(spec.healthCheck?.retries, 2);
  assert.equal(spec.healthCheck?.intervalSeconds, 10);
});

test('each invalid field is named with its rule', () => {
  rejects({}, 'image');
  rejects({ image: 'Not An Image' }, 'image', /reference/);
  rejects({ image: 'busybox', cpu: -1 }, 'cpu');
  rejects({ image: 'busybox', memory: 'lots' }, 'memory', /size/);
  rejects({ image: 'busybox', memory: '1m' }, 'memory', /6m/);
  rejects({ image: 'busybox', restart: 'sometimes' }, 'restart');
  rejects({ image: 'busybox', env: { '1BAD': 'x' } }, 'env.1BAD');
  rejects({ image: 'busybox', ports: [{ container: 70000 }] }, 'ports.0.container');
  rejects({ image: 'busybox', network: 'none', ports: [{ container: 80 }] }, 'ports');
  rejects({ image: 'busybox', bogus: true }, 'bogus', /unknown field/);
  rejects({ image: 'busybox', healthCheck: {} }, 'healthCheck', /exactly one/);
  rejects({ image: 'busybox', stopSignal: 'TERM' }, 'stopSignal');
  // Found by the API fuzz test: DynamoDB cannot store 2.4e-157 (a 500 instead of a 400).
  rejects({ image: 'busybox', stopTimeout: 2.387808702240571e-157 }, 'stopTimeout', /whole/);
  rejects({ image: 'busybox', stopTimeout: 1.5 }, 'stopTimeout', /whole/);
  // DynamoDB cannot store 1e-200 either: durations are rounded to milliseconds instead.
  const tiny = validateTaskSpec(
    { image: 'busybox', healthCheck: { http: { port: 8080 }, startPeriod: 1e-200 } },
    () => 'x',
  );
  assert.equal(tiny.healthCheck?.startPeriodSeconds, 0);
});

test('restart policies parse', () => {
  assert.deepEqual(parseRestartPolicy('always'), { mode: 'always' });
  assert.deepEqual(parseRestartPolicy('on-failure'), { mode: 'on-failure' });
  assert.deepEqual(parseRestartPolicy('on-failure:3'), { mode: 'on-failure', maxRestarts: 3 });
  assert.equal(parseRestartPolicy('on-failure:x'), undefined);
});

test('a host port may be listed once; bridge ports with no host bind none of their own', () => {
  rejects(
    {
      image: 'busybox',
      ports: [
        { container: 80, host: 8080 },
        { container: 81, host: 8080 },
      ],
    },
    'ports',
    /host port tcp\/8080 is listed twice/,
  );
  rejects(
    { image: 'busybox', network: 'host', ports: [{ container: 80 }, { container: 80, host: 80 }] },
    'ports',
    /host port tcp\/80 is listed twice/,
  );
  // Bridge: `80` gets a port the engine picks, so it does not clash with another's host 80.
  const spec = valid({
    image: 'busybox',
    ports: [{ container: 80 }, { container: 8080, host: 80 }],
  });
  assert.equal(spec.ports.length, 2);
  assert.equal(
    valid({ image: 'busybox', ports: [{ container: 53, protocol: 'udp' }, { container: 53 }] })
      .ports.length,
    2,
  );
});

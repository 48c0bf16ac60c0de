import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from 'clipanion';
import {
  buildTaskRequest,
  parseEnv,
  parseHealthHttp,
  parseLabels,
  parsePort,
  parseSeconds,
  parseSignal,
} from '../../cli/taskRequest.js';
import { TaskSpecInput, validateTaskSpec } from '../../core/taskSpec.js';

describe('buildTaskRequest', () => {
  it('sends only the image when no flags are given', () => {
    assert.deepEqual(buildTaskRequest({ image: 'busybox' }), { image: 'busybox' });
  });

  it('maps every flag into the API body, which the API schema accepts', () => {
    const body = buildTaskRequest({
      image: 'busybox:1.36',
      command: ['sh', '-c', 'exit 3'],
      name: 'web',
      cpu: '0.5',
      memory: '64m',
      disk: '1g',
      env: ['A=1', 'B=x=y', 'EMPTY='],
      label: ['team=ops', 'tier='],
      port: ['8080', '8081:80', '53/udp', '5353:53/UDP'],
      network: 'bridge',
      restart: 'on-failure:3',
      scheduler: 'binpack',
    });
    assert.deepEqual(body, {
      image: 'busybox:1.36',
      command: ['sh', '-c', 'exit 3'],
      name: 'web',
      cpu: 0.5,
      memory: '64m',
      disk: '1g',
      env: { A: '1', B: 'x=y', EMPTY: '' },
      labels: { team: 'ops', tier: '' },
      ports: [
        { container: 8080, protocol: 'tcp' },
        { container: 80, host: 8081, protocol: 'tcp' },
        { container: 53, protocol: 'udp' },
        { container: 53, host: 5353, protocol: 'udp' },
      ],
      network: 'bridge',
      restart: 'on-failure:3',
      scheduler: 'binpack',
    });
    assert.equal(TaskSpecInput.safeParse(body).success, true);
  });

  it('leaves out an empty command so the image default applies', () => {
    assert.equal(buildTaskRequest({ image: 'busybox', command: [] }).command, undefined);
  });

  it('refuses bad cpu, sizes, network and restart with a usage error', () => {
    for (const flags of [
      { cpu: 'abc' },
      { cpu: '0' },
      { cpu: '-1' },
      { cpu: '' },
      { memory: 'lots' },
      { disk: '1x' },
      { network: 'overlay' },
      { restart: 'sometimes' },
    ]) {
      assert.throws(
        () => buildTaskRequest({ image: 'busybox', ...flags }),
        UsageError,
        JSON.stringify(flags),
      );
    }
  });
});

describe('parseEnv', () => {
  it('splits at the first = and lets later values win', () => {
    assert.deepEqual(parseEnv(['A=1', 'A=2', 'URL=http://x/?a=b']), {
      A: '2',
      URL: 'http://x/?a=b',
    });
  });

  it('copies a bare name from the local environment', () => {
    assert.deepEqual(parseEnv(['HOME'], { HOME: '/root' }), { HOME: '/root' });
    assert.throws(() => parseEnv(['NOPE'], {}), /NOPE/);
  });

  it('refuses a missing name', () => {
    assert.throws(() => parseEnv(['=1']), UsageError);
  });
});

describe('parseLabels', () => {
  it('needs key=value', () => {
    assert.deepEqual(parseLabels(['a=b', 'c=d=e']), { a: 'b', c: 'd=e' });
    assert.throws(() => parseLabels(['novalue']), UsageError);
    assert.throws(() => parseLabels(['=v']), UsageError);
  });
});

describe('parsePort', () => {
  it('reads container, host:container and a protocol suffix', () => {
    assert.deepEqual(parsePort('80'), { container: 80, protocol: 'tcp' });
    assert.deepEqual(parsePort('8080:80'), { container: 80, host: 8080, protocol: 'tcp' });
    assert.deepEqual(parsePort('53/udp'), { container: 53, protocol: 'udp' });
    assert.deepEqual(parsePort('80/tcp'), { container: 80, protocol: 'tcp' });
  });

  it('refuses out-of-range and malformed ports', () => {
    for (const text of ['0', '65536', '8080:0', 'http', '80/sctp', '1:2:3', '', ':80', '80:']) {
      assert.throws(() => parsePort(text), UsageError, text);
    }
  });
});

describe('health, stop and reschedule flags', () => {
  it('map into the API body, which the API schema accepts and normalises', () => {
    const body = buildTaskRequest({
      image: 'busybox',
      healthHttp: '8080/healthz',
      healthInterval: '5',
      healthTimeout: '500ms',
      healthRetries: '4',
      healthStartPeriod: '1m',
      stopSignal: 'int',
      stopTimeout: '30s',
      maxReschedules: '0',
    });
    assert.deepEqual(body, {
      image: 'busybox',
      healthCheck: {
        http: { port: 8080, path: '/healthz' },
        interval: 5,
        timeout: 0.5,
        retries: 4,
        startPeriod: 60,
      },
      stopSignal: 'SIGINT',
      stopTimeout: 30,
      maxReschedules: 0,
    });
    const spec = validateTaskSpec(body, () => 'x');
    assert.deepEqual(spec.healthCheck, {
      http: { port: 8080, path: '/healthz' },
      intervalSeconds: 5,
      timeoutSeconds: 0.5,
      retries: 4,
      startPeriodSeconds: 60,
    });
    assert.equal(spec.stopSignal, 'SIGINT');
    assert.equal(spec.stopTimeoutSeconds, 30);
    assert.equal(spec.restart.maxReschedules, 0);
  });

  it('runs a health command with sh -c and defaults an HTTP path to /', () => {
    assert.deepEqual(buildTaskRequest({ image: 'b', healthCmd: 'test -f /tmp/ok' }).healthCheck, {
      command: ['sh', '-c', 'test -f /tmp/ok'],
    });
    assert.deepEqual(parseHealthHttp('80'), { port: 80, path: '/' });
    assert.equal(parseSignal('SIGTERM'), 'SIGTERM');
    assert.equal(parseSeconds('--x', '.5'), 0.5);
  });

  it('refuses bad values and timing flags without a check', () => {
    for (const flags of [
      { healthHttp: '0' },
      { healthHttp: 'web/healthz' },
      { healthHttp: '80', healthCmd: 'true' },
      { healthCmd: '  ' },
      { healthInterval: '5' },
      { healthCmd: 'true', healthRetries: '0' },
      { healthCmd: 'true', healthRetries: '1.5' },
      { healthCmd: 'true', healthTimeout: 'soon' },
      { stopSignal: 'SIG TERM' },
      { stopTimeout: '-1' },
      { maxReschedules: 'many' },
    ]) {
      assert.throws(
        () => buildTaskRequest({ image: 'busybox', ...flags }),
        UsageError,
        JSON.stringify(flags),
      );
    }
  });
});

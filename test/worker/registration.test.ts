import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  RegistrationRejectedError,
  registerWorker,
  registrationBody,
  registrationUrl,
} from '../../worker/control/registration.js';
import { WORKER_VERSION } from '../../worker/control/version.js';
import { backoffDelay } from '../../worker/timing.js';

const capacity = { cpuMillis: 2000, memoryBytes: 1024, diskBytes: 2048 };
const answer = {
  worker: { id: 'w1', name: 'host-a' },
  queueUrl: 'http://sqs/q',
  config: {
    tasksTable: 't',
    workersTable: 'w',
    eventsTable: 'e',
    heartbeatIntervalMs: 5000,
    heartbeatTtlMs: 30000,
  },
};

function fakeFetch(responses: (Response | Error)[]) {
  const calls: { url: string; init: RequestInit }[] = [];
  const impl = (async (url: string, init: RequestInit) => {
    calls.push({ url, init });
    const next = responses.shift();
    if (!next) throw new Error('no more responses');
    if (next instanceof Error) throw next;
    return next;
  }) as unknown as typeof fetch;
  return { impl, calls };
}

describe('worker registration', () => {
  it('builds the body the API expects', () => {
    assert.deepEqual(registrationBody('host-a', { zone: 'a' }, capacity, '1.2.3'), {
      name: 'host-a',
      labels: { zone: 'a' },
      capacity,
      version: '1.2.3',
    });
    assert.equal(registrationBody('h', {}, capacity).version, WORKER_VERSION);
    assert.match(WORKER_VERSION, /^\d+\.\d+\.\d+/);
    assert.equal(registrationUrl('http://api:8080/'), 'http://api:8080/v1/workers');
  });

  it('posts with the bearer token and retries while the API is unreachable', async () => {
    const { impl, calls } = fakeFetch([
      Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } }),
      new Response('busy', { status: 503 }),
      new Response(JSON.stringify(answer), { status: 201 }),
    ]);
    const logs: string[] = [];
    const out = await registerWorker(
      'http://api',
      'tok',
      registrationBody('host-a', {}, capacity),
      {
        fetch: impl,
        baseDelayMs: 1,
        maxDelayMs: 5,
        log: (l) => logs.push(l),
      },
    );
    assert.equal(out.worker.id, 'w1');
    assert.equal(out.queueUrl, 'http://sqs/q');
    assert.equal(calls.length, 3);
    assert.equal(calls[0]!.url, 'http://api/v1/workers');
    assert.equal(calls[0]!.init.method, 'POST');
    assert.equal((calls[0]!.init.headers as Record<string, string>).authorization, 'Bearer tok');
    assert.equal(JSON.parse(calls[0]!.init.body as string).name, 'host-a');
    assert.match(logs[0]!, /ECONNREFUSED/);
    assert.match(logs[1]!, /HTTP 503/);
  });

  it('does not retry a refusal', async () => {
    const { impl, calls } = fakeFetch([
      new Response(JSON.stringify({ error: { message: 'token lacks scope worker' } }), {
        status: 403,
      }),
    ]);
    await assert.rejects(
      registerWorker('http://api', 'tok', registrationBody('h', {}, capacity), { fetch: impl }),
      (error: unknown) =>
        error instanceof RegistrationRejectedError &&
        error.status === 403 &&
        /token lacks scope worker/.test(error.message),
    );
    assert.equal(calls.length, 1);
  });

  it('stops retrying when aborted', async () => {
    const controller = new AbortController();
    const { impl } = fakeFetch(Array.from({ length: 100 }, () => new Error('down')));
    setTimeout(() => controller.abort(), 50);
    await assert.rejects(
      registerWorker('http://api', 'tok', registrationBody('h', {}, capacity), {
        fetch: impl,
        signal: controller.signal,
        baseDelayMs: 5,
        maxDelayMs: 20,
      }),
    );
  });

  it('spreads retries with full jitter under a ceiling', () => {
    assert.equal(
      backoffDelay(3, 100, 1000, () => 1),
      800,
    );
    assert.equal(
      backoffDelay(10, 100, 1000, () => 1),
      1000,
    );
    assert.equal(
      backoffDelay(10, 100, 1000, () => 0),
      0,
    );
  });
});

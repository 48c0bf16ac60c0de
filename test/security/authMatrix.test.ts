// Every route the served OpenAPI document lists, called with no token, a malformed one, an
// unknown one, a revoked one, an expired one and one of each scope, against a live `cube up`.
// A token outside the route's scopes gets 403 whatever else is wrong with the request; a
// token inside them gets the route's success status for a well-formed request. A public
// route (the document itself) answers everyone, with or without a token.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TokenScope } from '../../core/types.js';
import { ensureEmulator, stopEmulator } from '../support/aws.js';
import { startTestCluster, type TestCluster } from '../support/cli.js';
import { call, createToken, fetchOperations, fillPath, type OpenApiOperation } from './support.js';

let cluster: TestCluster;
let operations: OpenApiOperation[];
const tokens: Partial<Record<TokenScope | 'revoked' | 'expired', string>> = {};
let taskId: string;
let workerName: string;
let spareTokenId: string;

/** Well-formed bodies per request schema in the document. */
const SAMPLE_BODIES: Record<string, (scope: string) => unknown> = {
  TaskSpec: (scope) => ({
    name: `matrix-${scope}`,
    image: 'busybox:1.36',
    network: 'none',
    // More than any worker here offers: the task stays PENDING and touches nothing.
    cpu: 512,
  }),
  WorkerRegistration: (scope) => ({
    name: `matrix-worker-${scope}`,
    capacity: { cpuMillis: 0, memoryBytes: 0, diskBytes: 0 },
  }),
  TokenCreate: (scope) => ({ name: `matrix-made-by-${scope}`, scope: 'read' }),
  // No replicas: nothing to place; the same spec again is answered 200, unchanged.
  ServiceSpec: () => ({
    replicas: 0,
    task: { image: 'busybox:1.36', network: 'none', env: { V: '2' } },
  }),
  ServiceScale: () => ({ replicas: 0 }),
  ServiceRollback: () => ({}),
};

/** A service (two revisions) for each scope that may read services. */
const SERVICE_SCOPES = ['read', 'submit', 'admin'] as const;

function pathValue(path: string, scope = 'nobody'): (name: string) => string {
  return () => {
    // Each scope its own service: one's DELETE does not take another's away.
    if (path.startsWith('/v1/services/')) return `matrix-${scope}`;
    if (path.startsWith('/v1/tasks/')) return taskId;
    if (path.startsWith('/v1/nodes/')) return workerName;
    if (path.startsWith('/v1/tokens/')) return spareTokenId;
    return 'unknown';
  };
}

/**
 * Whether this test knows a well-formed request for the route. Removing a node needs a DOWN
 * one (the matrix's worker is READY: 409), so it only has to be let through.
 */
const canFill = (op: OpenApiOperation) =>
  op.operationId !== 'removeNode' &&
  (op.bodyRef === undefined || SAMPLE_BODIES[op.bodyRef] !== undefined) &&
  (op.pathParams.length === 0 || /^\/v1\/(tasks|nodes|tokens|services)\//.test(op.path));

async function request(op: OpenApiOperation, token: string | undefined, scope: string) {
  const body = op.bodyRef ? (SAMPLE_BODIES[op.bodyRef]?.(scope) ?? {}) : undefined;
  return call(cluster.apiUrl, op.method, fillPath(op.path, pathValue(op.path, scope)), {
    ...(token !== undefined ? { token } : {}),
    ...(body !== undefined ? { body } : {}),
  });
}

describe('auth matrix over the OpenAPI document', { timeout: 180_000 }, () => {
  before(async () => {
    await ensureEmulator();
    cluster = await startTestCluster('authz', ['--workers', '0']);
    const admin = cluster.token;
    tokens.admin = admin;
    for (const scope of ['submit', 'read', 'worker'] as const) {
      tokens[scope] = (await createToken(cluster.apiUrl, admin, `matrix-${scope}`, scope)).secret;
    }
    const revoked = await createToken(cluster.apiUrl, admin, 'matrix-revoked', 'admin');
    const revoke = await call(cluster.apiUrl, 'DELETE', `/v1/tokens/${revoked.id}`, {
      token: admin,
    });
    assert.equal(revoke.status, 200, revoke.text);
    tokens.revoked = revoked.secret;
    // One second to live; by the time the matrix runs it has expired.
    tokens.expired = (
      await createToken(cluster.apiUrl, admin, 'matrix-expired', 'admin', 1 / 3600)
    ).secret;
    spareTokenId = (await createToken(cluster.apiUrl, admin, 'matrix-spare', 'read')).id;

    const task = await call(cluster.apiUrl, 'POST', '/v1/tasks', {
      token: admin,
      body: SAMPLE_BODIES.TaskSpec!('setup'),
    });
    assert.equal(task.status, 201, task.text);
    taskId = (task.json as { task: { id: string } }).task.id;
    const worker = await call(cluster.apiUrl, 'POST', '/v1/workers', {
      token: tokens.worker,
      body: SAMPLE_BODIES.WorkerRegistration!('setup'),
    });
    assert.equal(worker.status, 201, worker.text);
    workerName = (worker.json as { worker: { name: string } }).worker.name;

    for (const scope of SERVICE_SCOPES) {
      for (const version of ['1', '2']) {
        const applied = await call(cluster.apiUrl, 'PUT', `/v1/services/matrix-${scope}`, {
          token: admin,
          body: {
            replicas: 0,
            task: { image: 'busybox:1.36', network: 'none', env: { V: version } },
          },
        });
        assert.ok([200, 201].includes(applied.status), applied.text);
      }
    }

    // Fetched without a token: the document is public.
    operations = (await fetchOperations(cluster.apiUrl)).operations;
    await new Promise((r) => setTimeout(r, 1200));
  });

  after(async () => {
    await cluster?.stop();
    await stopEmulator();
  });

  test('the document lists every route with its scopes', () => {
    const listed = operations.map((op) => `${op.method} ${op.path}`).sort();
    for (const route of [
      'POST /v1/tasks',
      'GET /v1/tasks',
      'GET /v1/tasks/{id}',
      'GET /v1/tasks/{id}/logs',
      'GET /v1/services/{name}/logs',
      'DELETE /v1/tasks/{id}',
      'GET /v1/nodes',
      'DELETE /v1/nodes/{id}',
      'GET /v1/events',
      'POST /v1/workers',
      'POST /v1/tokens',
      'GET /v1/tokens',
      'DELETE /v1/tokens/{id}',
      'GET /v1/openapi.json',
      'GET /v1/placement-key',
      'PUT /v1/services/{name}',
      'GET /v1/services',
      'GET /v1/services/{name}',
      'DELETE /v1/services/{name}',
      'POST /v1/services/{name}/scale',
      'POST /v1/services/{name}/rollback',
      'GET /v1/services/{name}/revisions',
    ]) {
      assert.ok(listed.includes(route), `${route} is in the document`);
    }
    for (const op of operations) {
      assert.ok(op.scopes.includes('admin'), `${op.operationId}: admin may call every route`);
    }
    const open = operations.filter((op) => op.public).map((op) => `${op.method} ${op.path}`);
    assert.deepEqual(open, ['GET /v1/openapi.json'], 'only the document is public');
  });

  test('the public document answers without a token and whatever the header holds', async () => {
    for (const headers of <Record<string, string>[]>[
      {},
      { authorization: 'Bearer nonsense' },
      { authorization: `Bearer ${tokens.revoked}` },
      { authorization: `Basic ${cluster.token}` },
    ]) {
      const answer = await call(cluster.apiUrl, 'GET', '/v1/openapi.json', { headers });
      assert.equal(answer.status, 200, answer.text);
      assert.equal((answer.json as { openapi: string }).openapi, '3.1.0');
    }
  });

  test('a path called with a method it does not take answers 405 with Allow', async () => {
    const byPath = new Map<string, string[]>();
    for (const op of operations) byPath.set(op.path, [...(byPath.get(op.path) ?? []), op.method]);
    for (const [path, methods] of byPath) {
      const url = `${cluster.apiUrl}${fillPath(path, pathValue(path))}`;
      for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) {
        if (methods.includes(method)) continue;
        const answer = await fetch(url, {
          method,
          headers: { authorization: `Bearer ${cluster.token}` },
        });
        assert.equal(answer.status, 405, `${method} ${path}: ${await answer.text()}`);
        const allow = (answer.headers.get('allow') ?? '').split(/,\s*/).sort();
        assert.deepEqual(allow, [...methods].sort(), `${method} ${path}: Allow`);
      }
    }
  });

  for (const [who, expected] of [
    ['no token', 401],
    ['a malformed header', 401],
    ['an unknown token', 401],
    ['a revoked token', 401],
    ['an expired token', 401],
  ] as const) {
    test(`${who} gets ${expected} on every route`, async () => {
      const token =
        who === 'no token'
          ? undefined
          : who === 'an unknown token'
            ? `cube_${'A'.repeat(43)}`
            : who === 'a revoked token'
              ? tokens.revoked
              : who === 'an expired token'
                ? tokens.expired
                : undefined;
      for (const op of operations.filter((o) => !o.public)) {
        const answer =
          who === 'a malformed header'
            ? await call(cluster.apiUrl, op.method, fillPath(op.path, pathValue(op.path)), {
                headers: { authorization: `Basic ${cluster.token}` },
              })
            : await request(op, token, 'nobody');
        assert.equal(answer.status, expected, `${op.method} ${op.path}: ${answer.text}`);
        assert.equal((answer.json as { error?: string })?.error, 'UNAUTHORIZED');
      }
    });
  }

  for (const scope of ['read', 'worker', 'submit', 'admin'] as const) {
    test(`${scope === 'admin' ? 'an' : 'a'} ${scope} token gets 403 exactly where its scope is not listed`, async () => {
      // A service's DELETE and a node's removal last: the other routes need them there (the
      // registered worker never beats, so it may be DOWN by now, and removable).
      const removes = (op: OpenApiOperation) =>
        (op.method === 'DELETE' && op.path.startsWith('/v1/services/')) ||
        op.operationId === 'removeNode';
      for (const op of [...operations.filter((o) => !removes(o)), ...operations.filter(removes)]) {
        const answer = await request(op, tokens[scope], scope);
        const where = `${scope} ${op.method} ${op.path}: ${answer.text}`;
        if (!op.scopes.includes(scope)) {
          assert.equal(answer.status, 403, where);
          assert.match((answer.json as { message: string }).message, /scope/);
        } else if (canFill(op)) {
          assert.ok(answer.status >= 200 && answer.status < 300, where);
        } else {
          // A route this test does not know how to fill in: allowed through, at least.
          assert.ok(answer.status < 500 && ![401, 403].includes(answer.status), where);
        }
      }
    });
  }

  test('a worker token registers a worker and can do nothing with tasks', async () => {
    const worker = tokens.worker!;
    const submit = await call(cluster.apiUrl, 'POST', '/v1/tasks', {
      token: worker,
      body: { image: 'busybox' },
    });
    assert.equal(submit.status, 403, submit.text);
    for (const [method, path] of [
      ['GET', '/v1/tasks'],
      ['GET', `/v1/tasks/${taskId}`],
      ['DELETE', `/v1/tasks/${taskId}`],
      ['GET', '/v1/nodes'],
      ['GET', '/v1/events'],
      ['POST', '/v1/tokens'],
    ] as const) {
      const answer = await call(cluster.apiUrl, method, path, { token: worker });
      assert.equal(answer.status, 403, `${method} ${path}: ${answer.text}`);
    }
  });

  test('token listings never show hashes or secrets', async () => {
    const answer = await call(cluster.apiUrl, 'GET', '/v1/tokens', { token: cluster.token });
    assert.equal(answer.status, 200);
    for (const secret of Object.values(tokens)) assert.ok(!answer.text.includes(secret!));
    assert.ok(!/"hash"/.test(answer.text));
    const listed = (answer.json as { tokens: { id: string; scope: string; revoked: boolean }[] })
      .tokens;
    assert.ok(listed.every((t) => /^tk[0-9a-f]{12}$/.test(t.id)));
    assert.ok(listed.some((t) => t.revoked));
  });

  test('cube token create, list and revoke', async () => {
    const created = await cluster.cube(['token', 'create', '--name', 'cli-ci', '--scope', 'read']);
    assert.equal(created.code, 0, created.stderr);
    const secret = created.stdout.trim();
    assert.match(secret, /^cube_[A-Za-z0-9_-]{43}$/);
    assert.equal((await call(cluster.apiUrl, 'GET', '/v1/tasks', { token: secret })).status, 200);

    const list = await cluster.cubeJson<{ id: string; name: string; scope: string }[]>([
      'token',
      'list',
      '--json',
    ]);
    const mine = list.find((t) => t.name === 'cli-ci');
    assert.ok(mine, 'the new token is listed');
    assert.equal(mine.scope, 'read');

    const table = await cluster.cube(['token', 'list']);
    assert.match(table.stdout, /cli-ci\s+read\s+active/);

    const revoked = await cluster.cube(['token', 'revoke', mine.id]);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.equal((await call(cluster.apiUrl, 'GET', '/v1/tasks', { token: secret })).status, 401);

    const expiring = await cluster.cube([
      'token',
      'create',
      '--name',
      'cli-day',
      '--scope',
      'worker',
      '--expires',
      '24h',
      '--json',
    ]);
    const info = JSON.parse(expiring.stdout) as { expiresAt: string; secret: string };
    const hours = (Date.parse(info.expiresAt) - Date.now()) / 3_600_000;
    assert.ok(hours > 23.9 && hours <= 24, `expires in ${hours} h`);

    const bad = await cluster.cube(['token', 'create', '--name', 'x', '--scope', 'root']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--scope must be one of/);
    const unknown = await cluster.cube(['token', 'revoke', 'tk000000000000']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /not found \(HTTP 404\)/);
  });
});

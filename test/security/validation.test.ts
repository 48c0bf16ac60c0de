// Validation at the API boundary, in-process: the task spec's container fields and limits,
// the container policy, the route guard and the OpenAPI document built from the route table.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { z } from 'zod';
import type { ContainerPolicy } from '../../core/containerPolicy.js';
import { ValidationError } from '../../core/errors.js';
import { LIMITS, taskSpecSchema, validateTaskSpec } from '../../core/taskSpec.js';
import { apiRoutes } from '../../functions/api/handler.js';
import { buildOpenApiDocument } from '../../functions/api/openapi.js';
import { type ApiRoute, guardRoute, routeNotFound } from '../../functions/api/routeTable.js';
import type { AuthedContext } from '../../functions/shared/auth.js';
import type { HttpError } from '../../functions/shared/httpErrors.js';

const spec = (extra: Record<string, unknown>) =>
  validateTaskSpec({ image: 'busybox', ...extra }, () => 'name');

function rejects(run: () => unknown, field: string, rule?: RegExp) {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof ValidationError, String(error));
    assert.equal(error.field, field, error.message);
    if (rule) assert.match(error.rule, rule);
    return true;
  });
}

describe('container fields of a task spec', () => {
  test('user, read-only root, dropped capabilities and mounts are normalised', () => {
    const out = spec({
      user: '1000:1000',
      readOnlyRootfs: true,
      capDrop: ['CAP_NET_RAW', 'NET_RAW', 'ALL'],
      mounts: [
        { type: 'tmpfs', target: '/tmp' },
        { type: 'volume', source: 'data', target: '/data', readOnly: true },
        { source: '/srv/www', target: '/www' },
      ],
    });
    assert.equal(out.user, '1000:1000');
    assert.equal(out.readOnlyRootfs, true);
    assert.deepEqual(out.capDrop, ['NET_RAW', 'ALL']);
    assert.deepEqual(out.mounts, [
      { type: 'tmpfs', target: '/tmp', readOnly: false },
      { type: 'volume', source: 'data', target: '/data', readOnly: true },
      { type: 'bind', source: '/srv/www', target: '/www', readOnly: false },
    ]);
    const plain = spec({});
    for (const key of ['user', 'readOnlyRootfs', 'capDrop', 'privileged', 'mounts']) {
      assert.ok(!(key in plain), `${key} absent by default`);
    }
  });

  test('bad values name the field and the rule', () => {
    rejects(() => spec({ user: 'root; rm -rf /' }), 'user', /user like/);
    rejects(() => spec({ user: '' }), 'user');
    rejects(() => spec({ capDrop: ['net_raw'] }), 'capDrop.0', /capability/);
    rejects(() => spec({ capDrop: 'ALL' }), 'capDrop');
    rejects(() => spec({ privileged: 'yes' }), 'privileged');
    rejects(() => spec({ mounts: [{ target: 'relative' }] }), 'mounts.0.target', /absolute/);
    rejects(
      () => spec({ mounts: [{ source: '/a', target: '/x/../etc' }] }),
      'mounts.0.target',
      /\.\./,
    );
    rejects(() => spec({ mounts: [{ source: 'rel', target: '/x' }] }), 'mounts.0.source');
    rejects(
      () => spec({ mounts: [{ type: 'bind', target: '/x' }] }),
      'mounts.0.source',
      /required/,
    );
    rejects(
      () => spec({ mounts: [{ type: 'tmpfs', source: '/a', target: '/x' }] }),
      'mounts.0.source',
    );
    rejects(
      () => spec({ mounts: [{ type: 'volume', source: '../x', target: '/x' }] }),
      'mounts.0.source',
    );
    rejects(() => spec({ mounts: [{ type: 'nfs', source: 'a', target: '/x' }] }), 'mounts.0.type');
    rejects(
      () =>
        spec({
          mounts: [
            { type: 'tmpfs', target: '/x' },
            { type: 'tmpfs', target: '/x' },
          ],
        }),
      'mounts',
      /twice/,
    );
    rejects(
      () => spec({ mounts: [{ source: '/a', target: '/x', propagation: 'shared' }] }),
      'mounts.0.propagation',
      /unknown field/,
    );
  });

  test('privileged mode and host mounts need the control plane to allow them', () => {
    const closed: ContainerPolicy = {
      allowPrivileged: false,
      allowHostMounts: false,
      allowHostNetwork: false,
    };
    const under = (rules: ContainerPolicy, extra: Record<string, unknown>) => () =>
      validateTaskSpec({ image: 'busybox', ...extra }, () => 'name', taskSpecSchema(rules));
    const privileged = { privileged: true };
    const bind = {
      mounts: [
        { type: 'volume', source: 'v', target: '/v' },
        { source: '/etc', target: '/e' },
      ],
    };
    rejects(under(closed, privileged), 'privileged', /CUBE_ALLOW_PRIVILEGED/);
    rejects(under(closed, bind), 'mounts.1.type', /CUBE_ALLOW_HOST_MOUNTS/);
    rejects(
      under(closed, { mounts: [{ type: 'bind', source: '/a', target: '/b' }] }),
      'mounts.0.type',
      /CUBE_ALLOW_HOST_MOUNTS/,
    );
    rejects(under(closed, { mounts: [{ type: 'nfs', target: '/b' }] }), 'mounts.0.type', /volume/);
    under({ ...closed, allowPrivileged: true }, privileged)();
    under({ ...closed, allowHostMounts: true }, bind)();
    under(closed, { privileged: false, mounts: [{ type: 'tmpfs', target: '/t' }] })();
    // The document of such a control plane says so.
    const schema = z.toJSONSchema(taskSpecSchema(closed), { io: 'input' }) as {
      properties: Record<string, { const?: unknown; items?: { oneOf: unknown[] } }>;
    };
    assert.equal(schema.properties.privileged!.const, false);
    assert.equal(schema.properties.mounts!.items!.oneOf.length, 2);
  });

  test('host networking, host paths and added capabilities follow the control plane too', () => {
    const closed: ContainerPolicy = {
      allowPrivileged: false,
      allowHostMounts: true,
      allowHostNetwork: false,
      hostMountPaths: ['/srv/data/'],
      extraCapabilities: ['NET_ADMIN'],
    };
    const schema = taskSpecSchema(closed);
    const under = (extra: Record<string, unknown>) => () =>
      validateTaskSpec({ image: 'busybox', ...extra }, () => 'name', schema);
    rejects(under({ network: 'host' }), 'network', /CUBE_ALLOW_HOST_NETWORK=1\); use bridge/);
    const bind = (source: string) => ({ mounts: [{ source, target: '/d' }] });
    rejects(under(bind('/srv/database')), 'mounts.0.source', /CUBE_HOST_MOUNT_PATHS/);
    rejects(under(bind('/etc')), 'mounts.0.source', /outside the allowed host paths/);
    under(bind('/srv/data'))();
    under(bind('/srv/data/x/y'))();
    rejects(under({ capAdd: ['SYS_ADMIN'] }), 'capAdd.0', /capability SYS_ADMIN is not allowed/);
    under({ capAdd: ['CAP_NET_ADMIN', 'CHOWN'] })();
    // What the document says matches: the same values pass and fail its patterns.
    const doc = z.toJSONSchema(schema, { io: 'input' }) as unknown as {
      properties: {
        network: { enum: string[] };
        capAdd: { items: { pattern: string } };
        mounts: { items: { oneOf: { properties: { source: { pattern?: string } } }[] } };
      };
    };
    assert.deepEqual(doc.properties.network.enum, ['bridge', 'none']);
    const capabilities = new RegExp(doc.properties.capAdd.items.pattern);
    assert.ok(capabilities.test('CAP_NET_ADMIN') && !capabilities.test('SYS_ADMIN'));
    const source = new RegExp(doc.properties.mounts.items.oneOf[0]!.properties.source.pattern!);
    for (const [path, allowed] of [
      ['/srv/data', true],
      ['/srv/data/x/y', true],
      ['/srv/database', false],
      ['/srv/data/../etc', false],
    ] as const) {
      assert.equal(source.test(path), allowed, path);
    }
  });

  test('a control plane names its policies: others are refused, and the document lists them', () => {
    const rules = {
      allowPrivileged: true,
      allowHostMounts: true,
      allowHostNetwork: true,
      policies: ['spread'],
    };
    rejects(
      () => validateTaskSpec({ image: 'a', scheduler: 'nope' }, () => 'n', taskSpecSchema(rules)),
      'scheduler',
      /unknown policy "nope"; known: spread/,
    );
    const schema = z.toJSONSchema(taskSpecSchema(rules), { io: 'input' }) as unknown as {
      properties: { scheduler: { enum: string[] } };
    };
    assert.deepEqual(schema.properties.scheduler.enum, ['spread']);
  });
});

describe('sizes are bounded', () => {
  test('env: count, key length and total size', () => {
    const many = Object.fromEntries([...Array(LIMITS.envVars + 1)].map((_, i) => [`K${i}`, 'v']));
    rejects(() => spec({ env: many }), 'env', /at most 128 variables/);
    rejects(
      () => spec({ env: { ['K'.repeat(300)]: 'v' } }),
      'env.' + 'K'.repeat(300),
      /256 characters/,
    );
    const big = Object.fromEntries([...Array(20)].map((_, i) => [`K${i}`, 'v'.repeat(4000)]));
    rejects(() => spec({ env: big }), 'env', /in all/);
  });

  test('command: argument count, argument length and total length', () => {
    rejects(() => spec({ command: [...Array(LIMITS.commandArgs + 1)].map(() => 'a') }), 'command');
    rejects(() => spec({ command: ['a'.repeat(LIMITS.commandArgLength + 1)] }), 'command.0');
    rejects(
      () => spec({ command: [...Array(20)].map(() => 'a'.repeat(4000)) }),
      'command',
      /in all/,
    );
  });

  test('labels: count and sizes', () => {
    const many = Object.fromEntries([...Array(LIMITS.labels + 1)].map((_, i) => [`k${i}`, 'v']));
    rejects(() => spec({ labels: many }), 'labels', /at most 64 labels/);
    rejects(() => spec({ labels: { k: 'v'.repeat(257) } }), 'labels.k');
  });

  test('resources within what a worker could offer', () => {
    rejects(() => spec({ cpu: LIMITS.maxCpu + 1 }), 'cpu');
    rejects(() => spec({ memory: '20t' }), 'memory');
    rejects(() => spec({ cpu: 0 }), 'cpu');
  });
});

const context = (scope: 'admin' | 'read' | 'worker'): AuthedContext =>
  ({ principal: { hash: 'h', name: 'test', scope, createdAt: '' } }) as AuthedContext;

function event(parts: Partial<APIGatewayProxyEventV2>): APIGatewayProxyEventV2 {
  return { headers: {}, ...parts } as APIGatewayProxyEventV2;
}

describe('the route guard', () => {
  const seen: APIGatewayProxyEventV2[] = [];
  const route: ApiRoute = {
    method: 'POST',
    path: '/v1/things/{id}',
    operationId: 'thing',
    summary: 'test',
    scopes: ['read'],
    params: z.strictObject({ id: z.string().regex(/^[a-z]+$/, 'must be lower-case letters') }),
    query: z.strictObject({ q: z.string().max(3).optional() }),
    body: { name: 'Thing', schema: z.strictObject({ n: z.number() }) },
    responses: { 200: 'ok' },
    handler: async (e) => {
      seen.push(e);
      return { statusCode: 200 };
    },
  };
  const guarded = guardRoute(route);
  const call = (
    parts: Partial<APIGatewayProxyEventV2>,
    scope: 'admin' | 'read' | 'worker' = 'read',
  ) => guarded(event({ pathParameters: { id: 'abc' }, body: '{"n":1}', ...parts }), context(scope));

  test('scope comes before validation: a wrong token learns nothing about the request', async () => {
    await assert.rejects(
      call({ body: 'junk' }, 'worker'),
      (e: unknown) => (e as HttpError).status === 403,
    );
    await call({}, 'admin');
  });

  test('path, query and body are checked, each error naming the field', async () => {
    await assert.rejects(
      call({ pathParameters: { id: '%E0%A4%A' } }),
      /id: must be correctly percent-encoded/,
    );
    await assert.rejects(call({ pathParameters: { id: 'ABC' } }), /id: must be lower-case letters/);
    await assert.rejects(call({ queryStringParameters: { q: 'long' } }), /^ValidationError: q: /);
    await assert.rejects(call({ queryStringParameters: { z: '1' } }), /z: unknown query parameter/);
    await assert.rejects(call({ body: undefined }), /body: is required/);
    await assert.rejects(call({ body: '{"n":' }), /body: must be a JSON document/);
    await assert.rejects(call({ body: '[]' }), /body: Invalid input: expected object/);
    await assert.rejects(call({ body: '{"n":"1"}' }), /n: Invalid input: expected number/);
    await assert.rejects(call({ body: '{"n":1,"m":2}' }), /m: unknown field/);
    await assert.rejects(call({ body: '{"__proto__":{"n":1},"n":1}' }), /__proto__: unknown field/);
    const deep = `{"n":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    await assert.rejects(call({ body: deep }), ValidationError);
  });

  test('the handler sees decoded parameters and the parsed body', async () => {
    seen.length = 0;
    await call({
      pathParameters: { id: 'a%62c' },
      body: Buffer.from('{"n":2}').toString('base64'),
      isBase64Encoded: true,
    });
    assert.deepEqual(seen[0]!.pathParameters, { id: 'abc' });
    assert.deepEqual(seen[0]!.body, { n: 2 });
  });

  test('a route without a body refuses one', async () => {
    const bare = guardRoute({ ...route, body: undefined, params: undefined });
    await assert.rejects(bare(event({ body: '{}' }), context('read')), /body: must be empty/);
    await bare(event({ body: ' \n' }), context('read'));
  });

  test('unknown paths are 404 and known paths with another method 405', () => {
    const notFound = routeNotFound(apiRoutes);
    assert.throws(
      () => notFound({ method: 'PUT', path: '/v1/tasks/abc' }),
      (e: unknown) =>
        (e as HttpError).status === 405 && (e as HttpError).headers.allow === 'GET, DELETE',
    );
    // A method the path takes, on a path the router did not match (a trailing slash): 404.
    assert.throws(
      () => notFound({ method: 'GET', path: '/v1/openapi.json/' }),
      (e: unknown) => (e as HttpError).status === 404,
    );
    assert.throws(
      () => notFound({ method: 'GET', path: '/v1/nothing' }),
      (e: unknown) => (e as HttpError).status === 404,
    );
  });
});

describe('the OpenAPI document', () => {
  const document = buildOpenApiDocument(apiRoutes) as {
    openapi: string;
    paths: Record<string, Record<string, Record<string, unknown>>>;
    components: { schemas: Record<string, Record<string, unknown>> };
  };

  test('says what each of its own keywords means', () => {
    const used = new Set(JSON.stringify(document).match(/x-cube-[A-Za-z]+/g));
    used.delete('x-cube-scopes');
    assert.ok(used.size >= 7, [...used].join(', '));
    const info = (document as unknown as { info: { description: string } }).info.description;
    for (const keyword of used) assert.ok(info.includes(`\`${keyword}\``), keyword);
  });

  test('lists every route of the table, with scopes, parameters and body', () => {
    assert.equal(document.openapi, '3.1.0');
    for (const route of apiRoutes) {
      const op = document.paths[route.path]?.[route.method.toLowerCase()];
      assert.ok(op, `${route.method} ${route.path}`);
      assert.deepEqual(
        op['x-cube-scopes'],
        typeof route.scopes === 'string'
          ? ['admin', 'submit', 'read', 'worker']
          : ['admin', ...route.scopes],
      );
      assert.deepEqual(
        op.security,
        route.scopes === 'public' ? [] : [{ bearerAuth: op['x-cube-scopes'] }],
      );
      assert.equal(
        (op.responses as Record<string, unknown>)['401'] !== undefined,
        route.scopes !== 'public',
      );
      const names = ((op.parameters ?? []) as { name: string; in: string }[])
        .filter((p) => p.in === 'path')
        .map((p) => p.name);
      assert.deepEqual(
        names,
        [...route.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]),
        route.path,
      );
      assert.equal(op.requestBody !== undefined, route.body !== undefined);
    }
  });

  test('body schemas are the validating zod schemas, strict', () => {
    const task = document.components.schemas.TaskSpec!;
    assert.equal(task.additionalProperties, false);
    assert.deepEqual(task.required, ['image']);
    const properties = task.properties as Record<string, Record<string, unknown>>;
    for (const key of ['user', 'readOnlyRootfs', 'capDrop', 'privileged', 'mounts']) {
      assert.ok(properties[key], key);
    }
    assert.equal(properties.env!.maxProperties, LIMITS.envVars);
    assert.ok(document.components.schemas.TokenCreate);
    assert.ok(document.components.schemas.WorkerRegistration);
  });
});

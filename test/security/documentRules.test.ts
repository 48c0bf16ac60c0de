// In-process, before any request: every value the JSON Schema of a request schema allows (as
// the OpenAPI document writes it) is accepted by the zod schema itself, for the bodies and
// queries whose rules span fields, and the rules the document states are the ones enforced.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { z } from 'zod';
import { ValidationError } from '../../core/errors.js';
import { serviceSpecSchema, validateServiceSpec } from '../../core/services/spec.js';
import { taskSpecSchema, validateTaskSpec } from '../../core/taskSpec.js';
import { EventListQuery } from '../../functions/api/events.js';
import { ServiceLogsQuery, TaskLogsQuery } from '../../functions/api/logs.js';
import { jsonSchema } from '../../functions/api/openapi.js';
import { TaskListQuery } from '../../functions/api/tasks.js';
import { JsonSchemaReader, type Schema } from './jsonSchema.js';

const documented = (schema: z.ZodType) => jsonSchema(schema) as Schema;

const reader = new JsonSchemaReader({});

/** Values the document allows, each accepted by the schema that enforces the rules. */
function agrees(name: string, schema: z.ZodType, numRuns = 300) {
  const json = documented(schema);
  fc.assert(
    fc.property(reader.arbitrary(json), (value) => {
      const parsed = schema.safeParse(value);
      assert.ok(
        parsed.success,
        `${name}: ${JSON.stringify(value).slice(0, 500)}: ${parsed.error?.issues[0]?.message}`,
      );
    }),
    { numRuns },
  );
}

const rules = {
  allowPrivileged: false,
  allowHostMounts: true,
  allowHostNetwork: true,
  hostMountPaths: ['/srv'],
  policies: ['spread', 'bin-pack'],
};

describe('what the document allows, the validator accepts', () => {
  test('task spec (with a control plane policy)', () => agrees('task', taskSpecSchema(rules)));
  test('service spec', () => agrees('service', serviceSpecSchema(rules)));
  test('queries: tasks, logs, events', () => {
    // A query's values: text only (each parameter on its own, as the document lists them).
    for (const [name, query] of Object.entries({
      TaskListQuery,
      TaskLogsQuery,
      ServiceLogsQuery,
      EventListQuery,
    })) {
      for (const [field, schema] of Object.entries(query.shape)) {
        agrees(`${name}.${field}`, schema as z.ZodType, 100);
      }
    }
  });
});

function rejects(run: () => unknown, field: string, rule: RegExp) {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof ValidationError, String(error));
    assert.equal(error.field, field);
    assert.match(error.rule, rule);
    return true;
  });
}

describe('rules across fields, enforced and documented', () => {
  test('network host: a port publishes its container port as-is', () => {
    const spec =
      (ports: unknown[], network = 'host') =>
      () =>
        validateTaskSpec({ image: 'busybox', network, ports }, () => 'n');
    rejects(
      spec([{ container: 80 }, { container: 8080, host: 9090 }]),
      'ports.1.host',
      /must equal container with network host.*omit host or set it equal/,
    );
    assert.equal(spec([{ container: 8080, host: 8080 }])().ports[0]!.host, 8080);
    spec([{ container: 8080 }])();
    spec([{ container: 8080, host: 9090 }], 'bridge')();
    const json = documented(taskSpecSchema());
    const problem = (ports: unknown[]) =>
      reader.problem(json, { image: 'busybox', network: 'host', ports });
    assert.ok(problem([{ container: 8080, host: 9090 }]));
    assert.equal(problem([{ container: 8080, host: 8080 }]), undefined);
  });

  test('update policy: deadlines in order and a rollout that can start, defaults counted', () => {
    const service = (update: Record<string, unknown>) => () =>
      validateServiceSpec({ task: { image: 'busybox' }, update }, 'web');
    rejects(service({ maxSurge: 0 }), 'update.maxSurge', /cannot be 0 when maxUnavailable/);
    service({ maxSurge: 0, maxUnavailable: 1 })();
    rejects(service({ minHealthyTime: 400 }), 'update.healthyDeadline', /more than/);
    rejects(service({ healthyDeadline: 700 }), 'update.progressDeadline', /at least/);
    service({ healthyDeadline: 700, progressDeadline: 700 })();
    const json = documented(serviceSpecSchema());
    const problem = (update: Record<string, unknown>) =>
      reader.problem(json, { task: { image: 'busybox' }, update });
    assert.ok(problem({ maxSurge: 0 }));
    assert.ok(problem({ minHealthyTime: 400 }));
    assert.ok(problem({ healthyDeadline: 700 }));
    const fine = { maxSurge: 0, maxUnavailable: 1, healthyDeadline: 700, progressDeadline: 700 };
    assert.equal(problem(fine), undefined);
  });

  test('secrets and env name each variable once', () => {
    const spec = {
      image: 'busybox',
      env: { A: '1' },
      secrets: [{ name: 'A', from: 'ssm:/a' }],
    };
    rejects(() => validateTaskSpec(spec, () => 'n'), 'secrets.0.name', /set twice/);
    assert.ok(reader.problem(documented(taskSpecSchema()), spec));
  });
});

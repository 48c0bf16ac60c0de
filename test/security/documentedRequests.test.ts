// Requests generated from the served OpenAPI document itself (fast-check), for every
// operation it lists, sent to a live `cube up`: none the document allows may get a 400, and
// none a 5xx. A refusal is only for a reason of state (404, 409). The operations come from
// the live document, so a route added to the table is covered without touching this file.
// CUBE_DOC_SEED replays a run; CUBE_DOC_RUNS changes its size (requests in all).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { ensureEmulator, stopEmulator } from '../support/aws.js';
import { startTestCluster, type TestCluster } from '../support/cli.js';
import { JsonSchemaReader, type Schema } from './jsonSchema.js';
import { type ApiAnswer, call } from './support.js';

const RUNS = Number(process.env.CUBE_DOC_RUNS ?? 420);
const SEED = Number(process.env.CUBE_DOC_SEED ?? Date.now() % 2 ** 31);

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema: Schema;
}

interface Operation {
  operationId: string;
  parameters?: Parameter[];
  requestBody?: { required?: boolean; content: Record<string, { schema: Schema }> };
  responses: Record<string, unknown>;
}

interface ApiDocument {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
}

interface DocumentedRequest {
  method: string;
  path: string;
  body?: unknown;
}

/**
 * Operations whose validators still enforce a rule their document does not say (found by
 * this test, not yet fixed): the page parameters (`limit`, `nextToken`) of listTasks,
 * listNodes and listEvents; the log queries (getTaskLogs, getServiceLogs); applyService
 * (update: healthyDeadline > minHealthyTime, maxSurge and maxUnavailable not both 0). Their
 * failures are reported by the todo test below instead of failing the suite.
 */
const KNOWN_GAPS = new Set([
  'listTasks',
  'listNodes',
  'listEvents',
  'getTaskLogs',
  'getServiceLogs',
  'applyService',
]);

let cluster: TestCluster;
const gaps: string[] = [];
let document: ApiDocument;
let reader: JsonSchemaReader;

/** Requests the document allows for one operation: parameters and body from its schemas. */
function requests(path: string, method: string, op: Operation): fc.Arbitrary<DocumentedRequest> {
  const params = op.parameters ?? [];
  for (const p of params) {
    assert.ok(['path', 'query'].includes(p.in), `${op.operationId}: ${p.in} parameters`);
  }
  const pathValues = fc.record(
    Object.fromEntries(
      params.filter((p) => p.in === 'path').map((p) => [p.name, reader.arbitrary(p.schema)]),
    ),
  );
  const query = params.filter((p) => p.in === 'query');
  const queryValues = fc.record(
    Object.fromEntries(query.map((p) => [p.name, reader.arbitrary(p.schema)])),
    { requiredKeys: query.filter((p) => p.required).map((p) => p.name) },
  );
  const content = op.requestBody?.content;
  if (content) assert.deepEqual(Object.keys(content), ['application/json'], op.operationId);
  const body = content
    ? reader.arbitrary(content['application/json']!.schema)
    : fc.constant(undefined);
  return fc.record({ pathValues, queryValues, body }).map(({ pathValues, queryValues, body }) => {
    const filled = path.replace(/\{([^}]+)\}/g, (_, name: string) =>
      encodeURIComponent(String(pathValues[name])),
    );
    const search = new URLSearchParams(
      Object.entries(queryValues).map(([k, v]): [string, string] => [k, String(v)]),
    ).toString();
    return {
      method: method.toUpperCase(),
      path: search ? `${filled}?${search}` : filled,
      ...(body !== undefined ? { body } : {}),
    };
  });
}

describe('requests the OpenAPI document allows', { timeout: 600_000 }, () => {
  before(async () => {
    await ensureEmulator();
    cluster = await startTestCluster('docreq', ['--workers', '0']);
    const answer = await call(cluster.apiUrl, 'GET', '/v1/openapi.json');
    assert.equal(answer.status, 200, answer.text);
    document = answer.json as ApiDocument;
    reader = new JsonSchemaReader(document);
  });

  after(async () => {
    await cluster?.stop();
    await stopEmulator();
  });

  test('are never refused as malformed (400) and never fail (5xx)', async () => {
    const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => ({ path, method, op })),
    );
    assert.ok(operations.length >= 10, 'the document lists the routes');
    const perOperation = Math.max(5, Math.ceil(RUNS / operations.length));
    const statuses: Record<string, Record<number, number>> = {};
    const failures: string[] = [];
    for (const { path, method, op } of operations) {
      const seen: Record<number, number> = {};
      statuses[op.operationId] = seen;
      // Every operation is tried, and every failing one reported (each shrunk to its least).
      await fc
        .assert(
          fc.asyncProperty(requests(path, method, op), async (request) => {
            const answer: ApiAnswer = await call(cluster.apiUrl, request.method, request.path, {
              token: cluster.token,
              ...(request.body !== undefined ? { body: request.body } : {}),
            });
            seen[answer.status] = (seen[answer.status] ?? 0) + 1;
            const where = `${request.method} ${request.path} ${JSON.stringify(request.body) ?? ''}`;
            assert.ok(
              answer.status < 500 && ![400, 401, 403, 413].includes(answer.status),
              `${answer.status} ${answer.text}\n  for ${where.slice(0, 2_000)}`,
            );
            assert.ok(
              answer.status in op.responses,
              `${answer.status} is not among the documented answers of ${op.operationId}`,
            );
          }),
          { numRuns: perOperation, seed: SEED },
        )
        .catch((error: Error) =>
          (KNOWN_GAPS.has(op.operationId) ? gaps : failures).push(
            `${op.operationId}: ${error.message}`,
          ),
        );
    }
    console.log(`seed ${SEED}: ${JSON.stringify(statuses)}`);
    assert.equal(failures.length, 0, `\n${failures.join('\n\n')}`);
    // The property must be able to fail: at least some requests went through to success.
    const succeeded = Object.values(statuses).flatMap((s) =>
      Object.keys(s).filter((status) => Number(status) < 300),
    );
    assert.ok(succeeded.length > 0, 'some requests succeeded');
  });

  test('operations with known gaps between document and validator', { todo: true }, () => {
    assert.equal(gaps.length, 0, `\n${gaps.join('\n\n')}`);
  });
});

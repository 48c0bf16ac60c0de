// A store that cannot be reached answers 503 with Retry-After (the request was fine; try again),
// while a request the store refuses for its own content stays a 500 that shows no internals.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { toHttpError } from '../../functions/shared/httpErrors.js';

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

test('an unreachable DynamoDB endpoint is a 503 with Retry-After', async () => {
  const client = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${await closedPort()}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
  const error = await client
    .send(new GetItemCommand({ TableName: 't', Key: { id: { S: 'x' } } }))
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  assert.ok(error, 'the call to a closed port fails');
  const http = toHttpError(error);
  assert.equal(http.status, 503);
  assert.equal(http.code, 'UNAVAILABLE');
  assert.equal(http.headers['retry-after'], '1');
});

test('an unexpected error that is not the store is still a plain 500', () => {
  const http = toHttpError(new TypeError("Cannot read properties of undefined (reading 'x')"));
  assert.equal(http.status, 500);
  assert.equal(http.message, 'internal error');
});

// Counts AWS requests per operation with an SDK middleware, for the request-cost benchmark.
// Off unless CUBE_REQUEST_COUNT_FILE is set: then each process writes its running totals to
// `<file>.<pid>.json` once a second and on exit, and the benchmark adds them up.
import { writeFileSync } from 'node:fs';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';

const counts = new Map<string, number>();
let started = false;

export function requestCounts(): Record<string, number> {
  return Object.fromEntries(counts);
}

function flush(file: string) {
  writeFileSync(`${file}.${process.pid}.json`, JSON.stringify(requestCounts()));
}

function startFlushing(file: string) {
  if (started) return;
  started = true;
  setInterval(() => flush(file), 1000).unref();
  process.on('exit', () => flush(file));
}

/** Adds the counting middleware to a client when counting is switched on. */
export function countRequests(
  client: DynamoDBClient | SQSClient | CloudWatchLogsClient | { middlewareStack: unknown },
  service: string,
): void {
  const file = process.env.CUBE_REQUEST_COUNT_FILE;
  if (!file) return;
  startFlushing(file);
  // The clients share the SDK's middleware stack type; one cast names it.
  (client.middlewareStack as SQSClient['middlewareStack']).add(
    (next, context) => async (args) => {
      const key = `${service}:${context.commandName ?? 'unknown'}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
      return next(args);
    },
    { step: 'initialize', name: 'cubeRequestCounter' },
  );
}

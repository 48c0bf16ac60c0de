// The workers listing in pages (GET /v1/nodes): a Scan page of the workers table, which holds
// one item per worker, leaving out those past their TTL.
import { type DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import type { WorkerRecord } from '../core/types.js';
import type { ControlPlaneConfig } from './config.js';
import { decodeToken, encodeToken, KeyText, keyOf, notPurged } from './paging.js';
import { toWorkerRecord } from './workerStore.js';

const Token = z.strictObject({ k: z.strictObject({ id: KeyText }) });

export async function listWorkerPage(
  ddb: DynamoDBDocumentClient,
  config: Pick<ControlPlaneConfig, 'workersTable'>,
  options: { limit: number; nextToken?: string; now?: Date },
): Promise<{ nodes: WorkerRecord[]; nextToken?: string }> {
  let start: Record<string, unknown> | undefined = options.nextToken
    ? decodeToken(options.nextToken, Token).k
    : undefined;
  const filter = notPurged(options.now);
  const nodes: WorkerRecord[] = [];
  do {
    const out = await ddb.send(
      new ScanCommand({
        TableName: config.workersTable,
        FilterExpression: filter.expression,
        ExpressionAttributeNames: filter.names,
        ExpressionAttributeValues: filter.values,
        Limit: options.limit - nodes.length,
        ExclusiveStartKey: start,
        ConsistentRead: true,
      }),
    );
    for (const item of out.Items ?? []) {
      nodes.push(toWorkerRecord(item as Parameters<typeof toWorkerRecord>[0]));
      if (nodes.length >= options.limit) {
        return { nodes, nextToken: encodeToken({ k: keyOf(item, ['id']) }) };
      }
    }
    start = out.LastEvaluatedKey;
  } while (start);
  return { nodes };
}

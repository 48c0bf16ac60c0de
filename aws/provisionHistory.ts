// Provisioning steps for the history features: TTL on every table, and the indexes a table
// created by an older Cube lacks (DynamoDB, like CloudFormation, adds one GSI per update).
import {
  type CreateTableCommandInput,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';

export async function enableTtl(ddb: DynamoDBClient, table: string, attribute: string) {
  const out = await ddb.send(new DescribeTimeToLiveCommand({ TableName: table }));
  const status = out.TimeToLiveDescription?.TimeToLiveStatus;
  if (status === 'ENABLED' || status === 'ENABLING') return;
  await ddb.send(
    new UpdateTimeToLiveCommand({
      TableName: table,
      TimeToLiveSpecification: { AttributeName: attribute, Enabled: true },
    }),
  );
}

export async function addMissingIndexes(
  ddb: DynamoDBClient,
  definition: CreateTableCommandInput,
  waitActive: () => Promise<void>,
): Promise<void> {
  const out = await ddb.send(new DescribeTableCommand({ TableName: definition.TableName }));
  const present = new Set((out.Table?.GlobalSecondaryIndexes ?? []).map((g) => g.IndexName));
  for (const gsi of definition.GlobalSecondaryIndexes ?? []) {
    if (present.has(gsi.IndexName)) continue;
    const used = new Set(gsi.KeySchema?.map((k) => k.AttributeName));
    await ddb.send(
      new UpdateTableCommand({
        TableName: definition.TableName,
        AttributeDefinitions: definition.AttributeDefinitions?.filter((a) =>
          used.has(a.AttributeName),
        ),
        GlobalSecondaryIndexUpdates: [
          {
            Create: {
              IndexName: gsi.IndexName,
              KeySchema: gsi.KeySchema,
              Projection: gsi.Projection,
            },
          },
        ],
      }),
    );
    await waitActive();
  }
}

// One DynamoDB document client and one SQS client per process. The SDK itself reads
// AWS_ENDPOINT_URL, AWS_REGION and credentials from the environment.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { countRequests } from './requestCounter.js';

export interface AwsClients {
  ddb: DynamoDBDocumentClient;
  sqs: SQSClient;
}

let shared: AwsClients | undefined;

// The SDK is pinned to a release that supports Node 20 (see README), so its notice that
// later releases will not is noise in every command's output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const region = () => process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';

export function createAwsClients(): AwsClients {
  const raw = new DynamoDBClient({ region: region() });
  countRequests(raw, 'dynamodb');
  // convertClassInstanceToMap: the SDK takes an object for a class instance when it has an
  // own `constructor` key, so a label or env var named `constructor` failed every write
  // (a 500 found by generating requests from the OpenAPI document). Nothing stores class
  // instances (Sets are marshalled as sets before this applies).
  const ddb = DynamoDBDocumentClient.from(raw, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true },
  });
  const sqs = new SQSClient({ region: region() });
  countRequests(sqs, 'sqs');
  return { ddb, sqs };
}

export function awsClients(): AwsClients {
  shared ??= createAwsClients();
  return shared;
}

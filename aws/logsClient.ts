// One CloudWatch Logs client per process (the worker ships container output with it, the API
// reads it back). Like the other clients, it takes endpoint, region and credentials from the
// SDK's own environment.
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { countRequests } from './requestCounter.js';

let shared: CloudWatchLogsClient | undefined;

export function logsClient(): CloudWatchLogsClient {
  if (!shared) {
    shared = new CloudWatchLogsClient({
      region: process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    });
    countRequests(shared, 'logs');
  }
  return shared;
}

// Test access to an AWS emulator: the one AWS_ENDPOINT_URL names (LocalStack, say), or the
// project's moto started for this test process. Each test uses its own name prefix, so test
// files never see each other's tables, queues or workers.
import { randomBytes } from 'node:crypto';
import { createAwsClients } from '../../aws/clients.js';
import { type ControlPlaneConfig, controlPlaneConfig } from '../../aws/config.js';
import { DynamoDBClient, provisionControlPlane } from '../../aws/provision.js';
import { emulatorEnv, type RunningEmulator, startEmulator } from '../../cli/local/emulator.js';

let started: RunningEmulator | undefined;

/** Makes sure an emulator answers and process.env points the SDK at it. */
export async function ensureEmulator(): Promise<string> {
  if (!process.env.AWS_ENDPOINT_URL) {
    started = await startEmulator();
    Object.assign(process.env, emulatorEnv(started.endpoint));
  } else {
    Object.assign(process.env, emulatorEnv(process.env.AWS_ENDPOINT_URL));
  }
  return process.env.AWS_ENDPOINT_URL!;
}

export async function stopEmulator(): Promise<void> {
  await started?.stop();
  started = undefined;
}

export const uniquePrefix = (label: string) => `t${randomBytes(3).toString('hex')}-${label}`;

/** A fresh, provisioned control plane namespace (tables + scheduling queue). */
export async function provisionTestControlPlane(label: string): Promise<ControlPlaneConfig> {
  const base = controlPlaneConfig({ CUBE_PREFIX: uniquePrefix(label) });
  const clients = createAwsClients();
  const { schedulingQueueUrl } = await provisionControlPlane(
    new DynamoDBClient({ region: process.env.AWS_REGION ?? 'us-east-1' }),
    clients.sqs,
    base,
  );
  return { ...base, schedulingQueueUrl, heartbeatIntervalMs: 1000, heartbeatTtlMs: 10_000 };
}

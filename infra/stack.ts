// The deployable stack: the control plane plus outputs with plain names, so scripts and
// docs can read them by key (`ApiUrl`, `TokensTableName`, ...).
import { Aws, CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { CubeControlPlane, type CubeControlPlaneProps } from './controlPlane.js';

export type CubeStackProps = StackProps & CubeControlPlaneProps;

export class CubeStack extends Stack {
  readonly controlPlane: CubeControlPlane;

  constructor(scope: Construct, id: string, props: CubeStackProps = {}) {
    const {
      prefix,
      removalPolicy,
      alarmTopic,
      environment,
      frontDoor,
      logRetentionDays,
      skipIndexes,
      placementKeySecretArn,
      reservedConcurrency,
      secretsPrefix,
      apiThrottle,
      ...stackProps
    } = props;
    super(scope, id, {
      description: 'Cube container orchestrator: control plane (API, scheduler, reconciler)',
      ...stackProps,
    });
    const controlPlane = new CubeControlPlane(this, 'ControlPlane', {
      removalPolicy: removalPolicy ?? RemovalPolicy.RETAIN,
      ...(prefix ? { prefix } : {}),
      ...(alarmTopic ? { alarmTopic } : {}),
      ...(environment ? { environment } : {}),
      ...(frontDoor ? { frontDoor } : {}),
      ...(logRetentionDays ? { logRetentionDays } : {}),
      ...(skipIndexes ? { skipIndexes } : {}),
      ...(placementKeySecretArn ? { placementKeySecretArn } : {}),
      // false is a setting here (reserve none, grant no secrets), not an absence.
      ...(reservedConcurrency !== undefined ? { reservedConcurrency } : {}),
      ...(secretsPrefix !== undefined ? { secretsPrefix } : {}),
      ...(apiThrottle ? { apiThrottle } : {}),
    });
    this.controlPlane = controlPlane;

    const output = (key: string, value: string, description: string) =>
      new CfnOutput(this, key, { value, description });
    output('ApiUrl', controlPlane.apiUrl, 'CUBE_API_URL for the CLI and workers');
    output('Region', Aws.REGION, 'AWS_REGION for workers and scripts');
    output('Prefix', controlPlane.prefix, 'CUBE_PREFIX (worker queues are <prefix>-worker-*)');
    output('TasksTableName', controlPlane.tables.tasks.tableName, 'CUBE_TASKS_TABLE');
    output('WorkersTableName', controlPlane.tables.workers.tableName, 'CUBE_WORKERS_TABLE');
    output('EventsTableName', controlPlane.tables.events.tableName, 'CUBE_EVENTS_TABLE');
    output('TokensTableName', controlPlane.tables.tokens.tableName, 'CUBE_TOKENS_TABLE');
    output('ServicesTableName', controlPlane.tables.services.tableName, 'CUBE_SERVICES_TABLE');
    output('SchedulingQueueUrl', controlPlane.schedulingQueue.queueUrl, 'Scheduling queue');
    output('SchedulingDlqUrl', controlPlane.schedulingDlq.queueUrl, 'Dead-lettered nudges');
    output('LogGroupName', controlPlane.containerLogs.logGroupName, 'CUBE_LOG_GROUP');
    output('WorkerPolicyArn', controlPlane.workerPolicy.managedPolicyArn, 'For worker hosts');
  }
}

// The CDK app (cdk.json runs it). Settings come from context, e.g.
//   npx cdk deploy -c stackName=Cube -c prefix=cube -c removalPolicy=destroy -c logRetentionDays=30
//   cdklocal deploy -c frontDoor=function-url   (LocalStack's free image: no API Gateway v2)
//   npx cdk deploy -c skipIndexes=byIdPrefix     (upgrading in steps: docs/RETENTION.md)
//   npx cdk deploy -c placementKeySecretArn=arn:aws:secretsmanager:...   (a signing key of your own)
//   npx cdk deploy -c reservedConcurrency=false  (an account whose concurrency limit is still 10)
import { App, RemovalPolicy } from 'aws-cdk-lib';
import { CubeStack } from './stack.js';

const app = new App();
const context = (key: string) => app.node.tryGetContext(key) as string | undefined;

new CubeStack(app, context('stackName') ?? 'Cube', {
  // Account and region from the CLI's profile when there is one; synth works without.
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  prefix: context('prefix') ?? 'cube',
  removalPolicy:
    context('removalPolicy') === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
  frontDoor: context('frontDoor') === 'function-url' ? 'function-url' : 'http-api',
  ...(context('logRetentionDays') ? { logRetentionDays: Number(context('logRetentionDays')) } : {}),
  skipIndexes: (context('skipIndexes') ?? '').split(',').filter(Boolean),
  ...(String(context('reservedConcurrency')) === 'false' ? { reservedConcurrency: false } : {}),
  ...(context('placementKeySecretArn')
    ? { placementKeySecretArn: context('placementKeySecretArn') as string }
    : {}),
});
app.synth();

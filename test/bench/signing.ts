// What signed placements cost: µs to sign a placement (control plane) and to verify it
// (worker), and the AWS requests they add per task (none: the key is read once per process,
// one Secrets Manager GetSecretValue at cold start). The key is loaded from a real secret on
// the emulator, as a Lambda loads it. `npm run bench:signing [-- --json] [-- --n 20000]`
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { placementSigner } from '../../aws/placementKey.js';
import { requestCounts } from '../../aws/requestCounter.js';
import { parsePlacementKey, placementSignatureProblem } from '../../core/placementSignature.js';
import { validateTaskSpec } from '../../core/taskSpec.js';
import { newTask } from '../../core/taskStateMachine.js';
import { ensureEmulator, stopEmulator } from '../support/aws.js';
import { mean, percentile, round } from './stats.js';

const args = process.argv.slice(2);
const json = args.includes('--json');
const n = Number(args[args.indexOf('--n') + 1]) || 20_000;
// Counting on: requestCounts() then has this process's AWS requests by operation.
process.env.CUBE_REQUEST_COUNT_FILE ??= join(tmpdir(), `cube-bench-signing-${process.pid}`);

/** A spec of the size users send: a command, env, labels, a port, a health check. */
const spec = validateTaskSpec(
  {
    image: 'registry.example.com/team/api:1.42.0',
    command: ['node', 'server.js', '--port', '8080'],
    env: Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`SETTING_${i}`, `value-${i}`])),
    labels: { team: 'payments', tier: 'web' },
    cpu: 0.5,
    memory: '256m',
    ports: [{ container: 8080 }],
    restart: 'on-failure:3',
    healthCheck: { http: { port: 8080, path: '/healthz' } },
  },
  () => 'api',
);

async function main() {
  await ensureEmulator();
  const secrets = new SecretsManagerClient({ region: process.env.AWS_REGION ?? 'us-east-1' });
  const name = `cube-bench-placement-${randomBytes(4).toString('hex')}`;
  await secrets.send(
    new CreateSecretCommand({ Name: name, SecretString: randomBytes(32).toString('base64url') }),
  );
  const loadStart = performance.now();
  const signer = await placementSigner({ ...process.env, CUBE_PLACEMENT_KEY_SECRET: name });
  const loadMs = performance.now() - loadStart;
  const afterLoad = requestCounts();

  const key = parsePlacementKey(signer.publicKey);
  const tasks = Array.from({ length: n }, (_, i) => ({
    ...newTask(`t${i.toString(16).padStart(12, '0')}`, spec, 'bench').task,
    workerId: 'w0123456789ab',
  }));
  // Warm-up, then one timing per placement.
  for (const t of tasks.slice(0, 500)) signer.sign(t, t.workerId);
  const signUs: number[] = [];
  const verifyUs: number[] = [];
  for (const t of tasks) {
    const a = performance.now();
    const signature = signer.sign(t, t.workerId);
    const b = performance.now();
    const problem = placementSignatureProblem({ ...t, signature }, t.workerId, key);
    const c = performance.now();
    if (problem) throw new Error(`verification failed: ${problem}`);
    signUs.push((b - a) * 1000);
    verifyUs.push((c - b) * 1000);
  }
  await placementSigner(); // a later call: the same signer, no request
  const afterAll = requestCounts();
  const perTask = Object.entries(afterAll)
    .filter(([op, count]) => count !== afterLoad[op])
    .map(([op, count]) => `${op} ${(count - (afterLoad[op] ?? 0)) / n}`);
  const result = {
    placements: n,
    algorithm: 'Ed25519 (node:crypto)',
    specBytes: JSON.stringify(spec).length,
    keyLoadMs: round(loadMs),
    keyLoadRequests: afterLoad,
    signUsP50: round(percentile(signUs, 50)),
    signUsP99: round(percentile(signUs, 99)),
    verifyUsP50: round(percentile(verifyUs, 50)),
    verifyUsP99: round(percentile(verifyUs, 99)),
    signUsMean: round(mean(signUs)),
    verifyUsMean: round(mean(verifyUs)),
    signPlusVerifyUsP50: round(percentile(signUs, 50) + percentile(verifyUs, 50)),
    awsRequestsPerTask: perTask.length === 0 ? 0 : perTask.join(', '),
  };
  if (json) console.log(JSON.stringify(result));
  else {
    console.log(`signed placements: ${n} placements of a ${result.specBytes}-byte spec`);
    console.log(`  key load (cold start): ${result.keyLoadMs} ms, ${JSON.stringify(afterLoad)}`);
    console.log(
      `  sign   p50 ${result.signUsP50} µs, p99 ${result.signUsP99} µs, mean ${result.signUsMean} µs`,
    );
    console.log(
      `  verify p50 ${result.verifyUsP50} µs, p99 ${result.verifyUsP99} µs, mean ${result.verifyUsMean} µs`,
    );
    console.log(`  AWS requests per task added: ${result.awsRequestsPerTask}`);
  }
  await stopEmulator();
}

await main();

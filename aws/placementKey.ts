// Where the control plane's placement key comes from, loaded once per process (a Lambda's
// cold start): in AWS a Secrets Manager secret only the placing functions may read
// (`CUBE_PLACEMENT_KEY_SECRET`, its ARN or name); locally a 0600 file `cube up` writes
// (`CUBE_PLACEMENT_KEY_FILE`). With neither, a key of this process alone: fine for tests that
// run the control plane and the workers it registers in one process, useless anywhere else.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { PlacementSigner } from '../core/placementSignature.js';
import { countRequests } from './requestCounter.js';

let loaded: Promise<PlacementSigner> | undefined;

/** This process's signer; the first call reads the key, later calls cost nothing. */
export function placementSigner(env: NodeJS.ProcessEnv = process.env): Promise<PlacementSigner> {
  loaded ??= loadSigner(env).catch((error: unknown) => {
    loaded = undefined;
    throw error;
  });
  return loaded;
}

async function loadSigner(env: NodeJS.ProcessEnv): Promise<PlacementSigner> {
  if (env.CUBE_PLACEMENT_KEY_SECRET) {
    const { GetSecretValueCommand, SecretsManagerClient } = await import(
      '@aws-sdk/client-secrets-manager'
    );
    const client = new SecretsManagerClient({
      region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    });
    countRequests(client, 'secretsmanager');
    const out = await client.send(
      new GetSecretValueCommand({ SecretId: env.CUBE_PLACEMENT_KEY_SECRET }),
    );
    if (!out.SecretString) throw new Error('the placement key secret holds no string');
    return new PlacementSigner(out.SecretString);
  }
  if (env.CUBE_PLACEMENT_KEY_FILE) {
    return new PlacementSigner(ensureKeyFile(env.CUBE_PLACEMENT_KEY_FILE));
  }
  return new PlacementSigner(randomBytes(32).toString('base64url'));
}

/** The secret in `path`, written there (0600) first if the file does not exist yet. */
export function ensureKeyFile(path: string): string {
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    try {
      writeFileSync(path, `${randomBytes(32).toString('base64url')}\n`, {
        mode: 0o600,
        flag: 'wx',
      });
    } catch (error) {
      // Another process wrote it first: its key is the key.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  return readFileSync(path, 'utf8').trim();
}

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createAwsClients } from '../../aws/clients.js';
import type { ControlPlaneConfig } from '../../aws/config.js';
import { TokenStore } from '../../aws/tokenStore.js';
import { PROJECT_ROOT } from '../../cli/local/emulator.js';
import { ensureEmulator, provisionTestControlPlane, stopEmulator } from '../support/aws.js';

const dir = mkdtempSync(join(tmpdir(), 'cube-token-'));
let config: ControlPlaneConfig;

const createToken = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'infra/createToken.ts', ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, CUBE_TOKENS_TABLE: '', ...env },
    encoding: 'utf8',
  });

describe('npm run token:create', () => {
  before(async () => {
    await ensureEmulator();
    config = await provisionTestControlPlane('token');
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await stopEmulator();
  });

  it('writes a token the API accepts and prints its secret once', async () => {
    const outputs = join(dir, 'cdk-outputs.json');
    writeFileSync(outputs, JSON.stringify({ Cube: { TokensTableName: config.tokensTable } }));
    const result = createToken(['--name', 'admin', '--scope', 'admin', '--outputs-file', outputs]);
    assert.equal(result.status, 0, result.stderr);
    const secret = result.stdout.trim();
    assert.match(secret, /^cube_[A-Za-z0-9_-]{43}$/);
    const record = await new TokenStore(createAwsClients().ddb, config).verify(secret);
    assert.equal(record?.name, 'admin');
    assert.equal(record?.scope, 'admin');
  });

  it('refuses an unknown scope and a missing table', () => {
    const scope = createToken(['--name', 'x', '--scope', 'root', '--table', config.tokensTable]);
    assert.equal(scope.status, 1);
    assert.match(scope.stderr, /--scope must be one of admin, submit, read, worker/);
    const table = createToken(['--name', 'x']);
    assert.equal(table.status, 1);
    assert.match(table.stderr, /name the table/);
  });
});

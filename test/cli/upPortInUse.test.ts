// `cube up` beside another one (say `npm run demo` still running): it says which port is
// taken and stops at once, instead of taking the other's emulator for its own.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { portInUse } from '../../cli/local/emulator.js';
import { runCube } from '../support/cli.js';

let taken: Server;
let port = 0;
const configHome = mkdtempSync(join(tmpdir(), 'cube-up-port-'));

describe('cube up and a port already taken', () => {
  before(async () => {
    taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    port = (taken.address() as { port: number }).port;
  });
  after(() => {
    taken.close();
    rmSync(configHome, { recursive: true, force: true });
  });

  it('portInUse tells a taken port from a free one', async () => {
    assert.equal(await portInUse(port), true);
    const free = createServer();
    await new Promise<void>((resolve) => free.listen(0, '127.0.0.1', resolve));
    const freed = (free.address() as { port: number }).port;
    await new Promise<void>((resolve) => free.close(() => resolve()));
    assert.equal(await portInUse(freed), false);
  });

  for (const option of ['--emulator-port', '--port']) {
    it(`${option} taken: one line naming it, status 1, nothing started`, async () => {
      const other = option === '--port' ? '--emulator-port' : '--port';
      const env: Record<string, string> = { XDG_CONFIG_HOME: configHome, AWS_ENDPOINT_URL: '' };
      const result = await runCube(['up', option, String(port), other, '0', '--workers', '0'], env);
      assert.equal(result.code, 1, result.stderr);
      assert.equal(
        result.stderr,
        `cube: port ${port} (${option}) is in use on 127.0.0.1: is another 'cube up' or 'npm run demo' running? Stop it, or pick another port (${option} 0 takes a free one)\n`,
      );
      assert.equal(result.stdout, '');
    });
  }
});

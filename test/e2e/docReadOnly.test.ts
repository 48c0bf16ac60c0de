// The read-only commands the README and docs show (`cube ps`, `cube events --since 24h --kind
// worker`, `cube logs --attempt 1 t3f9`, ...), run for real, as written (placeholders filled),
// against a real `cube up`: what test/cli/docCommands.test.ts cannot see without running
// them, an option value the command or the API refuses, fails here with the page and line.
// Following (-f) lines are left out (they never end); the ids and names the docs use need
// not exist, so a 404 is an answer, a 400 or a usage error is not.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PROJECT_ROOT } from '../../cli/local/emulator.js';
import { ensureEmulator } from '../support/aws.js';
import { startTestCluster, type TestCluster } from '../support/cli.js';
import { docCommands } from '../support/docCommands.js';
import { tearDownCluster } from '../support/teardown.js';

const READ_ONLY = [
  'ps',
  'nodes',
  'events',
  'inspect',
  'logs',
  'services',
  'service ls',
  'service inspect',
  'rollout status',
  'rollout history',
  'endpoints',
  'token list',
  'tokens',
].map((path) => path.split(' '));

const PAGES = ['README.md', ...readdirSync(join(PROJECT_ROOT, 'docs')).map((f) => `docs/${f}`)]
  .filter((file) => file.endsWith('.md'))
  .sort();

const seen = new Set<string>();
const lines = PAGES.flatMap((file) =>
  docCommands(file, readFileSync(join(PROJECT_ROOT, file), 'utf8')),
).filter((c) => {
  if (c.program !== 'cube' || c.kind === 'mention') return false;
  if (!READ_ONLY.some((path) => path.every((word, i) => c.argv[i] === word))) return false;
  if (c.argv.includes('-f') || c.argv.includes('--follow')) return false;
  const key = c.argv.join('\0');
  if (seen.has(key)) return false;
  seen.add(key);
  return true;
});

let cluster: TestCluster;

describe("the docs' read-only commands, run for real", { timeout: 600_000 }, () => {
  before(async () => {
    await ensureEmulator();
    cluster = await startTestCluster('docro', ['--workers', '0']);
  });

  after(async () => {
    await tearDownCluster(cluster, []);
  });

  it('each answers: 0, or 1 for an id or name the cluster does not have (HTTP 404)', async () => {
    assert.ok(lines.length >= 15, `${lines.length} read-only lines found`);
    const wrong: string[] = [];
    for (const c of lines) {
      const result = await cluster.cube(c.argv, 90_000);
      const answered =
        result.code === 0 || (result.code === 1 && /\(HTTP 404\)\n$/.test(result.stderr));
      if (!answered) {
        wrong.push(
          `${c.file}:${c.line}: cube ${c.argv.join(' ')}\n    ${result.code}: ${result.stderr}`,
        );
      }
    }
    assert.deepEqual(wrong, []);
  });
});

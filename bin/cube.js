#!/usr/bin/env node
// Launcher for the `cube` CLI: registers tsx so the TypeScript sources run as they are,
// then loads cli/main.ts relative to this file's real location (works from any cwd and
// through an npm bin symlink, since import.meta.url is the resolved path).
// `cube worker` runs the bundle dist/cube-worker.mjs instead (`npm run build:worker`) when it
// is newer than every source it was built from: a daemon then carries no compiler hooks.
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';

const here = dirname(realpathSync(fileURLToPath(import.meta.url)));
const root = join(here, '..');
const [verb, sub] = process.argv.slice(2);
// The daemon only: `cube worker install|uninstall` live in the full CLI.
const daemon = verb === 'worker' && sub !== 'install' && sub !== 'uninstall';

function freshWorkerBundle() {
  if (!daemon) return;
  if (process.env.CUBE_WORKER_FROM_SOURCE === '1') return;
  const bundle = join(root, 'dist', 'cube-worker.mjs');
  try {
    const built = statSync(bundle).mtimeMs;
    const { sources } = JSON.parse(readFileSync(join(root, 'dist', 'cube-worker.meta.json')));
    if (sources.some((source) => statSync(join(root, source)).mtimeMs > built)) {
      process.stderr.write('cube: dist/cube-worker.mjs is older than its sources; running them\n');
      return;
    }
    return bundle;
  } catch {
    return; // no bundle (or a source gone): run from the sources
  }
}

if (daemon) {
  // The worker daemon sits idle most of its life, so it trades a little CPU for memory. V8
  // flags set here, in this process, before any worker code loads: a child `node --flags`
  // would keep this launcher resident beside it (+40 MB), and Node 20 cannot exec itself.
  // --optimize-for-size: a small young generation and a tighter heap (-8 MB idle RSS).
  // --liftoff-only: fetch (registration, HTTP health checks) compiles undici's llhttp wasm;
  // its optimizing tier allocates ~28 MB of compiler memory that malloc keeps (-10 to -20 MB).
  // Both measured in docs/BENCHMARKS.md "Worker footprint", idle CPU unchanged.
  setFlagsFromString('--optimize-for-size');
  setFlagsFromString('--liftoff-only');
}

const bundle = freshWorkerBundle();
if (bundle) {
  await import(pathToFileURL(bundle).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(join(root, 'cli', 'main.ts')).href);
}

// Exits 0 when node_modules holds exactly the versions package-lock.json pins, 1 when `npm ci`
// is needed. By content (each installed package's own package.json), not file times: a fresh
// checkout's lock is always "newer" than an install that matches it.
import { readFileSync } from 'node:fs';

const readJson = (path) => {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
};
const locked = readJson('package-lock.json')?.packages;
if (!locked) process.exit(1);

for (const [path, entry] of Object.entries(locked)) {
  if (path === '' || entry.link) continue;
  const installed = readJson(`${path}/package.json`);
  // Optional packages for other platforms (biome's, esbuild's) are never installed here.
  if (!installed && entry.optional) continue;
  if (installed?.version !== entry.version) process.exit(1);
}
process.exit(0);

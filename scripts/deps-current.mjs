// Exits 0 when node_modules holds exactly what package-lock.json pins (by npm's own record of
// the installed tree, node_modules/.package-lock.json), 1 when `npm ci` is needed. By content,
// not file times: a fresh checkout's lock is always "newer" than an install that matches it.
import { readFileSync } from 'node:fs';

const read = (path) => {
  try {
    return JSON.parse(readFileSync(path, 'utf8')).packages ?? {};
  } catch {
    return undefined;
  }
};
const locked = read('package-lock.json');
const installed = read('node_modules/.package-lock.json');
if (!locked || !installed) process.exit(1);

for (const [path, entry] of Object.entries(locked)) {
  if (path === '') continue;
  const have = installed[path];
  // Optional packages for other platforms (biome's, esbuild's) are never installed here.
  if (!have) {
    if (entry.optional) continue;
    process.exit(1);
  }
  if (have.version !== entry.version) process.exit(1);
}
for (const path of Object.keys(installed)) if (!(path in locked)) process.exit(1);
process.exit(0);

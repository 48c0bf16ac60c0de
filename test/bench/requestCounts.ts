// Reads the per-process request counts that aws/requestCounter.ts writes (`<file>.<pid>.json`)
// and does the arithmetic of the cost benchmark on them: snapshots, differences, sums.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** `service:Operation` -> requests. */
export type Counts = Record<string, number>;
/** pid -> counts of that process. */
export type Snapshot = Map<number, Counts>;

export function readSnapshot(file: string): Snapshot {
  const dir = dirname(file);
  const prefix = `${basename(file)}.`;
  const snapshot: Snapshot = new Map();
  for (const name of readdirSync(dir)) {
    const pid = Number(name.slice(prefix.length, -'.json'.length));
    if (!name.startsWith(prefix) || !name.endsWith('.json') || !Number.isInteger(pid)) continue;
    try {
      snapshot.set(pid, JSON.parse(readFileSync(join(dir, name), 'utf8')) as Counts);
    } catch {
      // Caught mid-write: the next snapshot has it.
    }
  }
  return snapshot;
}

export function removeCountFiles(file: string): void {
  const dir = dirname(file);
  for (const name of readdirSync(dir)) {
    if (name.startsWith(`${basename(file)}.`)) rmSync(join(dir, name), { force: true });
  }
}

export function add(a: Counts, b: Counts, factor = 1): Counts {
  const out: Counts = { ...a };
  for (const [key, n] of Object.entries(b)) out[key] = (out[key] ?? 0) + factor * n;
  return out;
}

export const scale = (a: Counts, factor: number): Counts => add({}, a, factor);
export const total = (a: Counts) => Object.values(a).reduce((s, n) => s + n, 0);

/** What the given processes did between two snapshots, summed. */
export function delta(before: Snapshot, after: Snapshot, pids: (pid: number) => boolean): Counts {
  let out: Counts = {};
  for (const [pid, counts] of after) {
    if (!pids(pid)) continue;
    out = add(out, add(counts, before.get(pid) ?? {}, -1));
  }
  return Object.fromEntries(Object.entries(out).filter(([, n]) => Math.abs(n) > 1e-9));
}

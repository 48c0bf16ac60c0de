// Which daemon instance this is (core/workerInstance.ts: one name, one live daemon). A second
// daemon under a held name waits out the holder's TTL; but a daemon restarted on the same host
// after its predecessor died (kill -9, the OOM killer, a crash that systemd restarts) is not a
// second daemon, it is the same worker carrying on. Waiting would race the reconciler, which
// finds the worker lost at that same TTL and gives its running tasks away (their containers
// then removed as orphans). So each daemon records its nonce with its pid and the host's boot
// id, and a successor on the same boot whose predecessor's pid is gone takes the nonce over
// and registers at once as the same instance. Another host (a cloned image boots with another
// id), or a second daemon while the first lives (its pid answers), gets a nonce of its own.
import { createHash, randomUUID } from 'node:crypto';
import {
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

interface InstanceFile {
  nonce: string;
  pid: number;
  bootId: string;
}

export interface InstanceNonce {
  nonce: string;
  /** The pid of the predecessor that died on this host, when its nonce was taken over. */
  inheritedFrom?: number;
}

export interface InstanceFileOptions {
  /** Folder of the instance files (`<cube state dir>/workers`). */
  dir: string;
  /** The control plane and the worker's name: one file per worker of one control plane. */
  apiUrl: string;
  name: string;
  pid?: number;
  /** This boot of the host; default: the kernel's, undefined where it has none (no takeover). */
  bootId?: string | undefined;
  /** Whether a process lives; default: signal 0. */
  alive?: (pid: number) => boolean;
}

/**
 * A dead daemon's file older than this is of no use (its worker is long past its TTL), nor is
 * a takeover marker (left by a daemon killed mid-takeover).
 */
const STALE_MS = 86_400_000;

/** The nonce this daemon registers with, recorded for its successor. Never throws. */
export function claimInstanceNonce(options: InstanceFileOptions): InstanceNonce {
  const pid = options.pid ?? process.pid;
  const bootId = 'bootId' in options ? options.bootId : kernelBootId();
  const alive = options.alive ?? processAlive;
  const base = join(options.dir, fileKey(options.apiUrl, options.name));
  const file = `${base}.json`;
  try {
    mkdirSync(options.dir, { recursive: true, mode: 0o700 });
    prune(options.dir, alive);
    const before = readInstance(file);
    if (before && bootId && before.bootId === bootId && before.pid !== pid && !alive(before.pid)) {
      // Two successors started at once: the exclusive marker lets one take over, and the file
      // read again under it shows whether another already had (it rewrites the file first).
      const marker = `${base}.${before.pid}.taken`;
      if (createExclusive(marker)) {
        try {
          const again = readInstance(file);
          if (again?.nonce === before.nonce && again.pid === before.pid) {
            writeInstance(file, { nonce: before.nonce, pid, bootId });
            return { nonce: before.nonce, inheritedFrom: before.pid };
          }
        } finally {
          rmSync(marker, { force: true });
        }
      }
    }
    const nonce = randomUUID();
    // A live daemon's file is left alone: its own successor takes over from it.
    const current = readInstance(file);
    if (!current || current.pid === pid || !alive(current.pid)) {
      writeInstance(file, { nonce, pid, bootId: bootId ?? '' });
    }
    return { nonce };
  } catch {
    // An unwritable state folder costs only the takeover: the daemon waits out the TTL.
    return { nonce: randomUUID() };
  }
}

function fileKey(apiUrl: string, name: string): string {
  return createHash('sha256').update(`${apiUrl}\n${name}`).digest('hex').slice(0, 32);
}

function readInstance(file: string): InstanceFile | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<InstanceFile>;
    return typeof parsed.nonce === 'string' &&
      Number.isInteger(parsed.pid) &&
      typeof parsed.bootId === 'string'
      ? (parsed as InstanceFile)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Atomic (write, then rename) and private: the nonce is what the worker's heartbeats carry. */
function writeInstance(file: string, instance: InstanceFile): void {
  writeFileSync(`${file}.tmp`, JSON.stringify(instance), { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

function createExclusive(path: string): boolean {
  try {
    writeFileSync(path, String(process.pid), { flag: 'wx', mode: 0o600 });
    return true;
  } catch {
    return false;
  }
}

function prune(dir: string, alive: (pid: number) => boolean): void {
  const now = Date.now();
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    try {
      if (now - statSync(path).mtimeMs <= STALE_MS) continue;
      if (name.endsWith('.taken')) rmSync(path, { force: true });
      if (name.endsWith('.json')) {
        const instance = readInstance(path);
        if (!instance || !alive(instance.pid)) rmSync(path, { force: true });
      }
    } catch {
      // Gone meanwhile.
    }
  }
}

function kernelBootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Signal 0 checks a process exists; EPERM means it does, under another user. */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

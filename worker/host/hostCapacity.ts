// What this host offers: every core (in millicores), all memory, and the disk of the
// filesystem that holds Docker's data (or `/`). Any dimension can be overridden.
import { statfs } from 'node:fs/promises';
import type Docker from 'dockerode';
// systeminformation's modules one by one, not its index (which loads all 20 of them): the
// worker needs cpu and memory only (types: worker/host/systeminformation.d.ts). The disk comes
// from statfs(2) on Docker's data root: systeminformation's fsSize runs `cat /proc/mounts`
// synchronously and `df` on every call, which blocked each busy worker's event loop for
// tens of ms every heartbeat (a CPU profile under bench:throughput: a third of its time).
import { cpu } from 'systeminformation/lib/cpu.js';
import { mem } from 'systeminformation/lib/memory.js';
import type { Resources } from '../../core/types.js';
import { ENGINE_DEADLINES_MS, withDeadline } from '../engine/engineDeadline.js';

export interface FilesystemSize {
  totalBytes: number;
  /** Free to unprivileged users, as `df` counts "Available". */
  freeBytes: number;
}

/** Size and free space of the filesystem that holds `path`. */
export async function filesystemOf(path: string): Promise<FilesystemSize> {
  const fs = await statfs(path);
  return { totalBytes: fs.blocks * fs.bsize, freeBytes: fs.bavail * fs.bsize };
}

/** Docker's data root (`/var/lib/docker` by default), or `/` when Docker cannot say. */
export async function dockerDataRoot(docker?: Docker): Promise<string> {
  if (!docker) return '/';
  try {
    // Bounded: a hung engine must not hold up registration (the disk figure falls back to /).
    const info = (await withDeadline(docker.info(), ENGINE_DEADLINES_MS.read, 'an info')) as {
      DockerRootDir?: string;
    };
    return info.DockerRootDir || '/';
  } catch {
    return '/';
  }
}

/**
 * What the worker offers: the host's, or less where the operator says so. More than the host
 * has is clamped to it, with a warning: a worker declaring 64 cores on a 2-core host would be
 * handed 32 times the work it can run. `oversubscribe` (`cube worker --oversubscribe`) offers
 * it as declared, for tasks that reserve far more than they use (a task's cpu is a quota, not
 * a share of the host it holds).
 */
export async function detectCapacity(
  override: Partial<Resources> = {},
  docker?: Docker,
  log: (line: string) => void = () => {},
  oversubscribe = false,
): Promise<Resources> {
  const hostCpu = (await cpu()).cores * 1000;
  const hostMemory = (await mem()).total;
  const bounded = (what: string, asked: number | undefined, has: number, shown: string) => {
    if (asked === undefined) return has;
    if (asked <= has || has <= 0) return asked;
    if (oversubscribe) {
      log(`${what} is more than this host has (${shown}): offered as declared (--oversubscribe)`);
      return asked;
    }
    log(`${what} is more than this host has (${shown}): offering ${shown}`);
    return has;
  };
  const cpuMillis = bounded(
    `--cpu ${(override.cpuMillis ?? 0) / 1000}`,
    override.cpuMillis,
    hostCpu,
    `${hostCpu / 1000} cores`,
  );
  const memoryBytes = bounded(
    `--memory of ${override.memoryBytes} bytes`,
    override.memoryBytes,
    hostMemory,
    `${hostMemory} bytes of memory`,
  );
  let diskBytes = override.diskBytes;
  if (diskBytes === undefined) {
    const root = await dockerDataRoot(docker);
    diskBytes = (await filesystemOf(root).catch(() => undefined))?.totalBytes ?? 0;
  }
  return { cpuMillis, memoryBytes, diskBytes };
}

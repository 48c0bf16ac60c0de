// What this host offers: every core (in millicores), all memory, and the disk of the
// filesystem that holds Docker's data (or `/`). Any dimension can be overridden.
import type Docker from 'dockerode';
// systeminformation's modules one by one, not its index (which loads all 20 of them): the
// worker needs cpu, memory and disk only (types: worker/systeminformation.d.ts).
import { cpu } from 'systeminformation/lib/cpu.js';
import { fsSize } from 'systeminformation/lib/filesystem.js';
import { mem } from 'systeminformation/lib/memory.js';
import type { Resources } from '../core/types.js';

export interface FilesystemSize {
  mount: string;
  totalBytes: number;
  freeBytes: number;
}

/** The filesystem whose mount point is the longest prefix of `path`. */
export function filesystemFor(
  path: string,
  filesystems: readonly FilesystemSize[],
): FilesystemSize | undefined {
  const within = (mount: string) =>
    mount === '/' || path === mount || path.startsWith(mount.endsWith('/') ? mount : `${mount}/`);
  return filesystems
    .filter((fs) => within(fs.mount))
    .sort((a, b) => b.mount.length - a.mount.length)[0];
}

export async function listFilesystems(): Promise<FilesystemSize[]> {
  const sizes = await fsSize();
  return sizes.map((fs) => ({ mount: fs.mount, totalBytes: fs.size, freeBytes: fs.available }));
}

/** Docker's data root (`/var/lib/docker` by default), or `/` when Docker cannot say. */
export async function dockerDataRoot(docker?: Docker): Promise<string> {
  if (!docker) return '/';
  try {
    const info = (await docker.info()) as { DockerRootDir?: string };
    return info.DockerRootDir || '/';
  } catch {
    return '/';
  }
}

export async function detectCapacity(
  override: Partial<Resources> = {},
  docker?: Docker,
): Promise<Resources> {
  const cpuMillis = override.cpuMillis ?? (await cpu()).cores * 1000;
  const memoryBytes = override.memoryBytes ?? (await mem()).total;
  let diskBytes = override.diskBytes;
  if (diskBytes === undefined) {
    const root = await dockerDataRoot(docker);
    diskBytes = filesystemFor(root, await listFilesystems())?.totalBytes ?? 0;
  }
  return { cpuMillis, memoryBytes, diskBytes };
}

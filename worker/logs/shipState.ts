// Where each container's shipping stands, one small file per container, written after every
// successful put: a restarted worker resumes each stream from there, so nothing is shipped
// twice (only a kill between a put's answer and this write, microseconds, could repeat a
// batch). Removed with the container.
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
import type { LogPosition } from '../../core/logs/engineLines.js';
import { cubeStateDir } from '../host/stateDir.js';

/** `$XDG_STATE_HOME/cube/logs`, else `~/.local/state/cube/logs`. */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(cubeStateDir(env), 'logs');
}

/** CloudWatch refuses events older than 14 days: a state file older than that is useless. */
const STALE_MS = 15 * 86_400_000;

export class ShipStates {
  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.prune();
  }

  private file(containerId: string): string {
    if (!/^[a-f0-9]{12,64}$/.test(containerId))
      throw new Error(`not a container id: ${containerId}`);
    return join(this.dir, `${containerId}.json`);
  }

  read(containerId: string): LogPosition | undefined {
    try {
      const parsed = JSON.parse(readFileSync(this.file(containerId), 'utf8')) as LogPosition;
      return typeof parsed.key === 'string' && Number.isInteger(parsed.seen) ? parsed : undefined;
    } catch {
      return undefined;
    }
  }

  /** Synchronous, and atomic (write, then rename), so a kill leaves the old or the new. */
  write(containerId: string, position: LogPosition): void {
    const file = this.file(containerId);
    writeFileSync(`${file}.tmp`, JSON.stringify(position));
    renameSync(`${file}.tmp`, file);
  }

  remove(containerId: string): void {
    rmSync(this.file(containerId), { force: true });
  }

  private prune(): void {
    const now = Date.now();
    for (const name of readdirSync(this.dir)) {
      try {
        const path = join(this.dir, name);
        if (now - statSync(path).mtimeMs > STALE_MS) rmSync(path, { force: true });
      } catch {
        // Gone meanwhile (another worker on this host pruned it).
      }
    }
  }
}

// The exits the Docker events stream reports, each recorded until it is (retried while the
// control plane is unreachable), with a bound on what waits: one recording per container (a
// stream reopened from the last second seen repeats its events), and at most `maxPending` at
// once. An exit beyond the bound is not lost: its container stays until recorded, and the
// local reconcile, asked for once a streak and run every ~15 s anyway, records it from Docker's
// own state. So a slow handler or a long outage costs memory for `maxPending` exits, no more.
import type { ContainerDied } from './containerEvents.js';

/** Exits being recorded at once, at most (a host runs far fewer containers than this). */
export const MAX_PENDING_EXITS = 512;

export type ExitOffer = 'recording' | 'already-recording' | 'left-to-reconcile';

export interface ExitRecorderOptions {
  /** Records one exit; settles when it is recorded (or given up on). */
  record: (died: ContainerDied) => Promise<void>;
  /** Exits were left to the local reconcile: run one. */
  onOverflow: () => void;
  log: (line: string) => void;
  maxPending?: number;
}

export class ExitRecorder {
  /** Containers whose exit is being recorded. */
  private readonly pending = new Set<string>();
  private readonly maxPending: number;
  /** Exits left to the reconcile since the recorder last had room (logged once per streak). */
  private overflowed = 0;

  constructor(private readonly options: ExitRecorderOptions) {
    this.maxPending = options.maxPending ?? MAX_PENDING_EXITS;
  }

  get size(): number {
    return this.pending.size;
  }

  /** Takes an exit to record; the promise (when one starts) settles once it is recorded. */
  offer(died: ContainerDied): { outcome: ExitOffer; recording?: Promise<void> } {
    if (this.pending.has(died.containerId)) return { outcome: 'already-recording' };
    if (this.pending.size >= this.maxPending) {
      if (this.overflowed++ === 0) {
        this.options.log(
          `${this.maxPending} container exits are waiting to be recorded; later ones are left ` +
            'to the local reconcile (their containers stay until then)',
        );
        // Once a streak: the periodic pass (every ~15 s) picks up what comes after.
        this.options.onOverflow();
      }
      return { outcome: 'left-to-reconcile' };
    }
    if (this.overflowed > 0) {
      this.options.log(`${this.overflowed} container exits were left to the local reconcile`);
      this.overflowed = 0;
    }
    this.pending.add(died.containerId);
    const recording = this.options
      .record(died)
      .finally(() => this.pending.delete(died.containerId));
    return { outcome: 'recording', recording };
  }
}

// Optional fencing (Nomad's stop_after_client_disconnect): a task may say how long its worker
// may go without the control plane before it stops the task. The control plane finds a silent
// worker DOWN within its TTL and places its tasks elsewhere; a worker that is merely cut off
// keeps running them, so for a while two copies run. A task that cannot bear that sets
// `stopAfterDisconnect`: once the worker's heartbeats have failed that long, it stops the
// container itself (the bound sits in the container's label, so a worker restarted while cut
// off still knows it). Once back in touch, the worker's reconcile settles the record.
import type { ContainerRuntime } from '../engine/containerRuntime.js';
import { sleep } from '../timing.js';

/** How often a cut-off worker looks for tasks whose bound has passed. */
const CHECK_MS = 1_000;

export class DisconnectFence {
  private lastContact = Date.now();
  /** Containers stopped in this cut-off (each once). */
  private readonly stopped = new Set<string>();

  constructor(
    private readonly runtime: Pick<ContainerRuntime, 'listOwn' | 'stop'>,
    private readonly log: (line: string) => void,
  ) {}

  /** A heartbeat got through. */
  contact(at = Date.now()): void {
    this.lastContact = at;
    this.stopped.clear();
  }

  /** Stops the running containers whose bound the silence has passed; returns how many. */
  async check(now = Date.now()): Promise<number> {
    const silentSeconds = (now - this.lastContact) / 1000;
    // A busy worker beats every 2 s; bounds are 10 s or more (core/taskSpec.ts).
    if (silentSeconds < 10) return 0;
    const due = (await this.runtime.listOwn()).filter(
      (c) =>
        c.state === 'running' &&
        c.stopAfterDisconnectSeconds !== undefined &&
        c.stopAfterDisconnectSeconds <= silentSeconds &&
        !this.stopped.has(c.id),
    );
    await Promise.all(
      due.map(async (c) => {
        this.stopped.add(c.id);
        this.log(
          `task ${c.taskId} attempt ${c.attempt}: no contact with the control plane for ` +
            `${silentSeconds.toFixed(0)} s (its stopAfterDisconnect is ${c.stopAfterDisconnectSeconds} s); stopping it`,
        );
        await this.runtime.stop(c.id).catch((error: Error) => {
          this.stopped.delete(c.id);
          this.log(`stopping ${c.id.slice(0, 12)} failed: ${error.message}`);
        });
      }),
    );
    return due.length;
  }

  /** Checks every second until the signal aborts. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await sleep(CHECK_MS, signal);
      if (signal.aborted) break;
      await this.check().catch((error: Error) =>
        this.log(`fencing check failed: ${error.message}`),
      );
    }
  }
}

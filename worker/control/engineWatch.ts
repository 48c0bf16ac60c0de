// Whether this host's container engine answers: a ping every few seconds, bounded (2 s), its
// answer carried by each heartbeat so the scheduler skips a worker whose engine hung (it would
// claim tasks and hang on their starts). A change beats at once, even on an idle worker that
// otherwise beats once a minute; pings are local, so watching costs the control plane nothing.
import type { EngineHealth } from '../../core/types.js';
import type { ContainerRuntime } from '../engine/containerRuntime.js';
import { ENGINE_DEADLINES_MS } from '../engine/engineDeadline.js';
import { sleep } from '../timing.js';

export class EngineWatch {
  /** Taken as answering until a ping says otherwise (a fresh worker is not held back). */
  current: EngineHealth = { answering: true };

  constructor(
    private readonly runtime: Pick<ContainerRuntime, 'ping'>,
    private readonly options: {
      intervalMs: number;
      /** Called when the answer changes (the agent beats at once). */
      onChange: (health: EngineHealth) => void;
      log: (line: string) => void;
      timeoutMs?: number;
    },
  ) {}

  /** One ping; updates `current` and reports a change. */
  async check(): Promise<EngineHealth> {
    const timeoutMs = this.options.timeoutMs ?? ENGINE_DEADLINES_MS.ping;
    const health = await this.runtime.ping(timeoutMs).then(
      (): EngineHealth => ({ answering: true }),
      (error: Error): EngineHealth => ({ answering: false, error: error.message.slice(0, 200) }),
    );
    if (health.answering !== this.current.answering) {
      this.options.log(
        health.answering
          ? 'the container engine answers again'
          : `the container engine does not answer (${health.error}); no new tasks come here`,
      );
      this.current = health;
      this.options.onChange(health);
    } else this.current = health;
    return health;
  }

  /** Pings until the signal aborts. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.check();
      await sleep(this.options.intervalMs, signal);
    }
  }
}

// `cube worker`: detect capacity, register over HTTPS, then run the worker agent until the
// signal aborts. Shutting down leaves containers running: a restarted worker (same name,
// same id) adopts them.
import { hostname } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { pinnedKeyMismatch, placementKeyFingerprint } from '../core/placementSignature.js';
import type { Resources } from '../core/types.js';
import { startWorkerAgent } from './agent.js';
import { claimInstanceNonce } from './control/instanceFile.js';
import { registerWorker, registrationBody } from './control/registration.js';
import { detectAdvertiseAddress } from './host/advertiseAddress.js';
import { detectCapacity } from './host/hostCapacity.js';
import { cubeStateDir } from './host/stateDir.js';

export interface WorkerOptions {
  apiUrl: string;
  token: string;
  name: string;
  labels: Record<string, string>;
  capacity?: Partial<Resources>;
  /** Offer `capacity` as declared even where it is more than the host has. */
  oversubscribe?: boolean;
  log?: (line: string) => void;
  docker?: Docker;
  heartbeatIntervalMs?: number;
  /** Container starts at once (`--start-concurrency`). */
  startConcurrency?: number;
  /** Where its tasks' published ports are reached; default: detected (advertiseAddress.ts). */
  address?: string;
  /** The Docker network of tasks with network `bridge` (`--bridge-network`). */
  bridgeNetwork?: string;
  /** A pinned control plane key (CUBE_CONTROL_PLANE_KEY): wins over what registration returns. */
  controlPlaneKey?: string;
  /** What outlives the process (its instance, for a successor): default `cubeStateDir()`. */
  stateDir?: string;
}

/**
 * The key placements are verified with: the pinned one, else registration's. A pinned worker
 * refuses an answer naming another key (a compromised API cannot swap keys); none is an error.
 */
export function chooseControlPlaneKey(
  pinned: string | undefined,
  registered: string | undefined,
): string {
  if (pinned) {
    const mismatch = registered ? pinnedKeyMismatch(pinned, registered) : undefined;
    if (mismatch) throw new Error(`this worker refuses the control plane's answer: ${mismatch}`);
    return pinned;
  }
  if (!registered) {
    throw new Error(
      'the control plane returned no placement key and none is pinned (CUBE_CONTROL_PLANE_KEY): this worker would run nothing',
    );
  }
  return registered;
}

export async function runWorker(options: WorkerOptions, signal: AbortSignal): Promise<void> {
  const log = options.log ?? ((line: string) => console.error(line));
  const docker = options.docker ?? new Docker();
  const capacity = await detectCapacity(options.capacity, docker, log, options.oversubscribe);
  const address = options.address ?? (await detectAdvertiseAddress());
  // This daemon instance: its heartbeats are conditional on the nonce, and a second daemon
  // given the same name is refused while this one lives (core/workerInstance.ts). A restart
  // after this host's previous daemon died carries its nonce on (control/instanceFile.ts).
  const claimed = claimInstanceNonce({
    dir: join(options.stateDir ?? cubeStateDir(), 'workers'),
    apiUrl: options.apiUrl,
    name: options.name,
  });
  if (claimed.inheritedFrom !== undefined) {
    log(
      `worker ${options.name}: carrying on from its previous daemon on this host ` +
        `(pid ${claimed.inheritedFrom}, gone)`,
    );
  }
  const instance = { nonce: claimed.nonce, hostname: hostname(), pid: process.pid };
  const body = {
    ...registrationBody(options.name, options.labels, capacity, undefined, address),
    instance,
    // The API refuses a pinned key that is not its own before it stores anything; the
    // answer is checked here all the same (chooseControlPlaneKey).
    ...(options.controlPlaneKey ? { controlPlaneKey: options.controlPlaneKey.trim() } : {}),
  };
  const register = () => registerWorker(options.apiUrl, options.token, body, { signal, log });

  let registration: Awaited<ReturnType<typeof register>>;
  try {
    registration = await register();
  } catch (error) {
    if (signal.aborted) return;
    throw error;
  }
  const { worker, queueUrl, config } = registration;
  const controlPlaneKey = chooseControlPlaneKey(options.controlPlaneKey, config.controlPlaneKey);
  log(
    `worker ${worker.name} registered as ${worker.id}: ${capacity.cpuMillis / 1000} cpu, ` +
      `${Math.round(capacity.memoryBytes / 1024 ** 2)} MiB memory, ` +
      `${Math.round(capacity.diskBytes / 1024 ** 3)} GiB disk, address ${address}; ` +
      `placement key ${placementKeyFingerprint(controlPlaneKey)} ` +
      `(${options.controlPlaneKey ? 'pinned' : 'from registration'})`,
  );
  if (signal.aborted) return;

  const agent = await startWorkerAgent({
    workerId: worker.id,
    queueUrl,
    config,
    controlPlaneKey,
    docker,
    log,
    instanceNonce: instance.nonce,
    reregister: async () => {
      const again = await register();
      log(`worker ${again.worker.id} registered again`);
      // The key verified with stays the one this daemon started with, whatever the API says now.
      const offered = again.config.controlPlaneKey;
      if (offered && pinnedKeyMismatch(controlPlaneKey, offered)) {
        log(
          `the control plane now names placement key ${placementKeyFingerprint(offered)}; this ` +
            `daemon keeps verifying with ${placementKeyFingerprint(controlPlaneKey)}`,
        );
      }
    },
    ...(options.heartbeatIntervalMs !== undefined
      ? { heartbeatIntervalMs: options.heartbeatIntervalMs }
      : {}),
    ...(options.startConcurrency !== undefined
      ? { startConcurrency: options.startConcurrency }
      : {}),
    ...(options.bridgeNetwork !== undefined ? { bridgeNetwork: options.bridgeNetwork } : {}),
  });
  if (signal.aborted) await agent.stop();
  else signal.addEventListener('abort', () => void agent.stop(), { once: true });
  await agent.done;
  if (agent.displaced) throw agent.displaced;
  log(`worker ${worker.id} stopped; its containers keep running`);
}

// One name, one worker. A worker's id follows from its name, so two daemons given one name
// (cloned images share a hostname) would share its queue and records and end each other's
// tasks. Each daemon instance therefore registers with a nonce of its own, its heartbeats are
// conditional on it, and a second instance is refused while the first is alive. The first's
// silence past its TTL (it crashed, its host died) lets a newcomer, a restart say, take over.
import { heartbeatTtlFor } from './heartbeat.js';
import type { WorkerInstance, WorkerRecord } from './types.js';

/** What a daemon says of itself at registration; the nonce is never shown back. */
export interface InstanceClaim extends Omit<WorkerInstance, 'registeredAt'> {
  nonce: string;
}

/** Registration refused: another instance holds the name and is alive. */
export class WorkerNameTakenError extends Error {
  override name = 'WorkerNameTakenError';
  constructor(
    message: string,
    /** When the holder would count as gone if it stays silent from now on. */
    readonly retryAfterMs: number,
  ) {
    super(message);
  }
}

/** A heartbeat refused because another instance registered under the name since. */
export class WorkerDisplacedError extends Error {
  override name = 'WorkerDisplacedError';
  constructor(name: string, by: WorkerInstance | undefined) {
    super(
      `another daemon registered as worker "${name}"` +
        (by ? ` (host ${by.hostname}, pid ${by.pid}, at ${by.registeredAt})` : '') +
        '; this one stops taking work (its containers keep running)',
    );
  }
}

type Holder = Pick<
  WorkerRecord,
  'name' | 'state' | 'heartbeatAt' | 'heartbeatIntervalMs' | 'instance'
> & { instanceNonce?: string };

/**
 * Why `claim` may not register over `holder`, or undefined when it may: no holder, the same
 * instance again (registering after being marked DOWN), a claim without a nonce (an older
 * daemon), a DOWN holder, or one silent past its TTL.
 */
export function instanceConflict(
  holder: Holder | undefined,
  claim: Pick<InstanceClaim, 'nonce'> | undefined,
  now: Date,
  baseTtlMs: number,
): WorkerNameTakenError | undefined {
  if (!holder?.instanceNonce || !claim || holder.instanceNonce === claim.nonce) return undefined;
  if (holder.state !== 'READY') return undefined;
  const ttl = heartbeatTtlFor(baseTtlMs, holder.heartbeatIntervalMs);
  const silentMs = now.getTime() - Date.parse(holder.heartbeatAt);
  if (!(silentMs <= ttl)) return undefined;
  const who = holder.instance
    ? `host ${holder.instance.hostname}, pid ${holder.instance.pid}, registered at ${holder.instance.registeredAt}`
    : 'an unnamed instance';
  return new WorkerNameTakenError(
    `worker name "${holder.name}" is held by a live daemon (${who}; last heartbeat ` +
      `${(Math.max(0, silentMs) / 1000).toFixed(1)} s ago): stop it, or give this worker ` +
      'another --name',
    Math.max(0, ttl - silentMs),
  );
}

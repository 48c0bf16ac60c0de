// Signed placements: the control plane signs what it places (task, attempt, worker and a digest
// of the spec) with a private key only it holds; a worker verifies against the control plane's
// public key before it creates anything. A worker host can write task records and send
// messages, but it cannot make another worker run a spec the control plane did not place there.
// Ed25519 with node:crypto: signing is local (no AWS request per placement).
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import type { PlacementSignature, TaskRecord, TaskSpec } from './types.js';

const PAYLOAD_VERSION = 'cube-placement/v1';
const KEY_PREFIX = 'ed25519:';
// PKCS#8 DER header of an Ed25519 private key; the 32-byte seed follows.
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** JSON with object keys sorted at every level: the same spec gives the same bytes. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function specDigest(spec: TaskSpec): string {
  return createHash('sha256').update(canonicalJson(spec)).digest('base64url');
}

/** What is signed: one line per field, so no field can bleed into another. */
export function placementPayload(
  taskId: string,
  attempt: number,
  workerId: string,
  spec: TaskSpec,
): Buffer {
  return Buffer.from(
    [PAYLOAD_VERSION, taskId, String(attempt), workerId, specDigest(spec)].join('\n'),
  );
}

/**
 * The control plane's key pair, derived from a secret string (Secrets Manager's generated
 * secret in AWS, a file `cube up` writes locally): the seed is the secret's SHA-256.
 */
export class PlacementSigner {
  readonly publicKey: string;
  private readonly privateKey: KeyObject;

  constructor(secret: string) {
    if (secret.length < 32)
      throw new Error('the placement key secret must be at least 32 characters');
    const seed = createHash('sha256').update(secret).digest();
    this.privateKey = createPrivateKey({
      key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]),
      format: 'der',
      type: 'pkcs8',
    });
    const jwk = createPublicKey(this.privateKey).export({ format: 'jwk' });
    this.publicKey = `${KEY_PREFIX}${jwk.x}`;
  }

  /** The signature a placement of `task` (at its attempt) on `workerId` carries. */
  sign(task: Pick<TaskRecord, 'id' | 'attempt' | 'spec'>, workerId: string): PlacementSignature {
    const payload = placementPayload(task.id, task.attempt, workerId, task.spec);
    return {
      attempt: task.attempt,
      value: sign(null, payload, this.privateKey).toString('base64'),
    };
  }
}

/** A public key as the control plane hands it out (`ed25519:<base64url>`); throws if malformed. */
export function parsePlacementKey(text: string): KeyObject {
  const x = text.trim();
  if (!x.startsWith(KEY_PREFIX) || !/^[A-Za-z0-9_-]{43}$/.test(x.slice(KEY_PREFIX.length))) {
    throw new Error(`not a control plane key (expected ${KEY_PREFIX}<43 base64url characters>)`);
  }
  return createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: x.slice(KEY_PREFIX.length) },
    format: 'jwk',
  });
}

/**
 * A key's fingerprint as `ssh-keygen -l` prints one (`SHA256:` and the unpadded base64 of the
 * raw key's SHA-256): short enough to compare by eye between `cube up`, `cube nodes`, the
 * worker's environment file and its log. Throws if `publicKey` is malformed.
 */
export function placementKeyFingerprint(publicKey: string): string {
  const raw = Buffer.from(publicKey.trim().slice(KEY_PREFIX.length), 'base64url');
  parsePlacementKey(publicKey);
  return `SHA256:${createHash('sha256').update(raw).digest('base64').replace(/=+$/, '')}`;
}

/**
 * Why a worker that pinned `pinned` must not take a control plane's word for `offered` (the
 * key a registration answer names), or undefined when they are the same key. A compromised or
 * impostor API cannot hand a pinned worker another key to verify with.
 */
export function pinnedKeyMismatch(pinned: string, offered: string): string | undefined {
  if (pinned.trim() === offered.trim()) return undefined;
  return (
    `placement key mismatch: the control plane signs with ${placementKeyFingerprint(offered)}, ` +
    `the worker pinned ${placementKeyFingerprint(pinned)} (CUBE_CONTROL_PLANE_KEY). If the ` +
    "control plane's key changed on purpose, pin the new one (GET /v1/placement-key; " +
    'cube worker install --control-plane-key)'
  );
}

/**
 * Why `task` must not run on `workerId`, or undefined when the control plane placed exactly this
 * spec there. An in-place restart keeps its placement's signature: the attempt signed is the one
 * placed, and later attempts on the same worker with the same spec run under it.
 */
export function placementSignatureProblem(
  task: Pick<TaskRecord, 'id' | 'attempt' | 'spec' | 'workerId' | 'signature'>,
  workerId: string,
  key: KeyObject,
): string | undefined {
  const signature = task.signature;
  if (!signature?.value) return 'placement signature: missing (not placed by the control plane)';
  if (task.workerId !== workerId) {
    return `placement signature: the task is addressed to worker ${task.workerId}, not ${workerId}`;
  }
  if (!Number.isInteger(signature.attempt) || signature.attempt > task.attempt) {
    return 'placement signature: signed for a later attempt than the record holds';
  }
  const payload = placementPayload(task.id, signature.attempt, workerId, task.spec);
  let valid = false;
  try {
    valid = verify(null, payload, key, Buffer.from(signature.value, 'base64'));
  } catch {
    valid = false;
  }
  return valid
    ? undefined
    : "placement signature: does not match the control plane's key (the record was altered or forged)";
}

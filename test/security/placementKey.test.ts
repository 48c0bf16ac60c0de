// The placement key: derived from its secret, kept 0600 by `cube up`, the same across restarts;
// a signature covers exactly the task, the attempt placed, the worker and the spec.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ensureKeyFile } from '../../aws/placementKey.js';
import {
  canonicalJson,
  PlacementSigner,
  parsePlacementKey,
  pinnedKeyMismatch,
  placementKeyFingerprint,
  placementSignatureProblem,
} from '../../core/placementSignature.js';
import { validateTaskSpec } from '../../core/taskSpec.js';
import { newTask } from '../../core/taskStateMachine.js';
import { chooseControlPlaneKey } from '../../worker/daemon.js';

describe('placement key', () => {
  it('is written once, 0600, and read back the same by a restarted control plane', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cube-key-')), 'cube', 'placement-key-x');
    const first = ensureKeyFile(path);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(ensureKeyFile(path), first);
    assert.equal(readFileSync(path, 'utf8').trim(), first);
    assert.equal(new PlacementSigner(first).publicKey, new PlacementSigner(first).publicKey);
    assert.notEqual(
      new PlacementSigner(first).publicKey,
      new PlacementSigner(`${first}x`).publicKey,
    );
  });

  it('signs task, attempt, worker and spec; any change is refused', () => {
    const signer = new PlacementSigner('a-secret-of-at-least-thirty-two-characters!');
    const key = parsePlacementKey(signer.publicKey);
    const spec = validateTaskSpec({ image: 'busybox', env: { B: '2', A: '1' } }, () => 'n');
    const task = { ...newTask('t1', spec, 'test').task, workerId: 'w1' };
    const placed = { ...task, signature: signer.sign(task, 'w1') };
    assert.equal(placementSignatureProblem(placed, 'w1', key), undefined);
    // Keys in another order are the same spec.
    const reordered = { ...placed, spec: JSON.parse(canonicalJson(placed.spec)) };
    assert.equal(placementSignatureProblem(reordered, 'w1', key), undefined);
    // A later attempt on the same worker (an in-place restart) runs under the placement.
    assert.equal(placementSignatureProblem({ ...placed, attempt: 2 }, 'w1', key), undefined);
    const refused = [
      placementSignatureProblem({ ...placed, spec: { ...spec, privileged: true } }, 'w1', key),
      placementSignatureProblem({ ...placed, id: 't2' }, 'w1', key),
      placementSignatureProblem({ ...placed, workerId: 'w2' }, 'w2', key),
      placementSignatureProblem(placed, 'w2', key),
      placementSignatureProblem({ ...task }, 'w1', key),
      placementSignatureProblem(
        placed,
        'w1',
        parsePlacementKey(new PlacementSigner('another-secret-of-thirty-two-characters').publicKey),
      ),
    ];
    for (const problem of refused) assert.match(problem ?? '', /^placement signature: /);
    assert.throws(() => parsePlacementKey('ed25519:short'), /not a control plane key/);
  });

  it('has a fingerprint: SHA-256 of the raw key, as ssh-keygen -l prints keys', () => {
    const key = new PlacementSigner('a-secret-of-at-least-thirty-two-characters!').publicKey;
    const raw = Buffer.from(key.slice('ed25519:'.length), 'base64url');
    assert.equal(raw.length, 32);
    const expected = createHash('sha256').update(raw).digest('base64').replace(/=+$/, '');
    assert.equal(placementKeyFingerprint(key), `SHA256:${expected}`);
    assert.equal(placementKeyFingerprint(` ${key}\n`), `SHA256:${expected}`);
    assert.throws(() => placementKeyFingerprint('ed25519:short'), /not a control plane key/);
  });

  it('a pinned key refuses another, naming both fingerprints; the same key passes', () => {
    const pinned = new PlacementSigner('the-pinned-secret-of-thirty-two-characters').publicKey;
    const offered = new PlacementSigner('an-offered-secret-of-thirty-two-characters').publicKey;
    assert.equal(pinnedKeyMismatch(pinned, pinned), undefined);
    assert.equal(pinnedKeyMismatch(pinned, `${pinned}\n`), undefined);
    const problem = pinnedKeyMismatch(pinned, offered) ?? '';
    assert.ok(problem.includes(`signs with ${placementKeyFingerprint(offered)}`), problem);
    assert.ok(problem.includes(`pinned ${placementKeyFingerprint(pinned)}`), problem);

    assert.equal(chooseControlPlaneKey(pinned, pinned), pinned);
    assert.equal(chooseControlPlaneKey(pinned, undefined), pinned, 'an older control plane');
    assert.equal(chooseControlPlaneKey(undefined, offered), offered, 'nothing pinned');
    assert.throws(() => chooseControlPlaneKey(pinned, offered), /placement key mismatch/);
    assert.throws(() => chooseControlPlaneKey(undefined, undefined), /would run nothing/);
  });
});

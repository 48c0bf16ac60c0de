// GET /v1/placement-key: the public key this control plane signs placements with, and its
// fingerprint. `cube worker install` pins it in the worker's environment file; an operator
// compares the fingerprint with what `cube up`, `cube nodes` and each worker's log print.
import { placementKeyFingerprint } from '../../core/placementSignature.js';
import { getDeps } from '../shared/deps.js';
import { jsonResponse } from '../shared/httpErrors.js';

export async function getPlacementKey() {
  const { publicKey } = await getDeps().placementSigner();
  return jsonResponse(200, {
    algorithm: 'Ed25519',
    publicKey,
    fingerprint: placementKeyFingerprint(publicKey),
  });
}

// The tests' control plane key: a fixed secret, so a test can sign placements the way the
// scheduler does and hand the matching public key to the workers it starts in-process.
import { PlacementSigner } from '../../core/placementSignature.js';
import type { TaskRecord } from '../../core/types.js';

export const TEST_SIGNER = new PlacementSigner('cube-tests-placement-key-not-a-secret-0123456789');
export const TEST_CONTROL_PLANE_KEY = TEST_SIGNER.publicKey;

/** The patch a placement of `task` on `workerId` carries (as placePendingTask writes it). */
export function signedFor(task: Pick<TaskRecord, 'id' | 'attempt' | 'spec'>, workerId: string) {
  return { workerId, signature: TEST_SIGNER.sign(task, workerId) };
}

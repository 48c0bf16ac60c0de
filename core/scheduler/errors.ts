// Errors of the scheduler framework; callers branch on the class.

/** A task named a scheduling policy nobody registered (Kubernetes: unknown schedulerName). */
export class UnknownPolicyError extends Error {
  override name = 'UnknownPolicyError';
  constructor(
    readonly policy: string,
    readonly known: readonly string[],
  ) {
    super(`unknown scheduling policy '${policy}' (known: ${known.join(', ')})`);
  }
}

/** A policy definition that cannot work (no name, bad weight, duplicate name...). */
export class InvalidPolicyError extends Error {
  override name = 'InvalidPolicyError';
  constructor(
    readonly policy: string,
    readonly rule: string,
  ) {
    super(`policy '${policy}': ${rule}`);
  }
}

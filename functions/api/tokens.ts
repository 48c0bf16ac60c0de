// /v1/tokens: create (the secret is shown once), list (never hashes or secrets), revoke.
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { z } from 'zod';
import { TOKEN_ID_PATTERN } from '../../aws/tokenStore.js';
import { whenGiven } from '../../core/schemaRules.js';
import { LIMITS, toValidationError } from '../../core/taskSpec.js';
import type { AuthedContext } from '../shared/auth.js';
import { requireScope } from '../shared/auth.js';
import { apiTokens, getDeps } from '../shared/deps.js';
import { jsonResponse } from '../shared/httpErrors.js';

/** Ten years: a token meant to last longer should simply not expire. */
export const MAX_TOKEN_HOURS = 24 * 365 * 10;

const tokenFields = z.strictObject({
  name: z
    .string()
    .min(1, 'is required')
    .max(LIMITS.nameLength)
    .regex(
      /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/,
      'must start with a letter or digit and hold only letters, digits, _ . -',
    ),
  scope: z.enum(['admin', 'submit', 'read', 'worker']),
  expiresInHours: z
    .number()
    .positive('must be more than 0 hours')
    .max(MAX_TOKEN_HOURS, `must be at most ${MAX_TOKEN_HOURS} hours (10 years)`)
    .optional(),
  /** Binds a worker token to one worker name: it can register that worker and no other. */
  worker: z
    .string()
    .min(1)
    .max(LIMITS.nameLength)
    .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'must be a worker name')
    .optional(),
});

export const TokenCreateInput = whenGiven(
  tokenFields,
  'worker',
  'scope',
  ['worker'],
  'only a worker-scoped token can be bound to a worker',
);

export const TokenIdParams = z.strictObject({
  id: z.string().regex(TOKEN_ID_PATTERN, 'must be a token id like tk0123456789ab'),
});

export async function createToken(event: APIGatewayProxyEventV2, context: AuthedContext) {
  requireScope(context, []);
  const parsed = TokenCreateInput.safeParse(event.body);
  if (!parsed.success) throw toValidationError(parsed.error);
  const input = parsed.data;
  const expiresAt =
    input.expiresInHours === undefined
      ? undefined
      : new Date(Date.now() + input.expiresInHours * 3_600_000);
  const { secret, token } = await getDeps().tokens.issue(
    input.name,
    input.scope,
    expiresAt,
    input.worker,
  );
  return jsonResponse(201, { token, secret });
}

export async function listTokens(_event: APIGatewayProxyEventV2, context: AuthedContext) {
  requireScope(context, []);
  return jsonResponse(200, { tokens: await getDeps().tokens.list() });
}

export async function revokeToken(event: APIGatewayProxyEventV2, context: AuthedContext) {
  requireScope(context, []);
  const parsed = TokenIdParams.safeParse(event.pathParameters);
  if (!parsed.success) throw toValidationError(parsed.error);
  const { id } = parsed.data;
  const token = await getDeps().tokens.revoke(id);
  apiTokens.forget();
  return jsonResponse(200, { token });
}

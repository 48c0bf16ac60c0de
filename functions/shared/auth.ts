// Bearer-token authentication (middleware) and per-route scopes.
import type middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import type { TokenRecord } from '../../aws/tokenStore.js';
import type { TokenScope } from '../../core/types.js';
import { HttpError } from './httpErrors.js';
import type { TokenCache } from './tokenCache.js';

export type AuthedContext = Context & { principal?: TokenRecord };

export function bearerAuth(
  tokens: TokenCache,
  /** Requests served without a token (the API document: it holds no secret). */
  isPublic: (event: APIGatewayProxyEventV2) => boolean = () => false,
): middy.MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyResultV2, Error, AuthedContext> {
  return {
    before: async (request) => {
      if (isPublic(request.event)) return;
      const header =
        request.event.headers?.authorization ?? request.event.headers?.Authorization ?? '';
      const match = /^Bearer\s+(\S+)$/i.exec(header);
      if (!match) {
        throw new HttpError(401, 'UNAUTHORIZED', 'missing "Authorization: Bearer <token>" header');
      }
      const principal = await tokens.verify(match[1]!);
      if (!principal) {
        throw new HttpError(401, 'UNAUTHORIZED', 'the token is invalid, expired or revoked');
      }
      request.context.principal = principal;
    },
  };
}

/** Fails with 403 unless the caller's token has one of the scopes (admin always passes). */
export function requireScope(context: AuthedContext, allowed: readonly TokenScope[]): TokenRecord {
  const principal = context.principal;
  if (!principal) throw new HttpError(401, 'UNAUTHORIZED', 'not authenticated');
  if (principal.scope !== 'admin' && !allowed.includes(principal.scope)) {
    throw new HttpError(
      403,
      'FORBIDDEN',
      `a ${principal.scope} token cannot do this; it needs scope ${['admin', ...allowed].join(' or ')}`,
    );
  }
  return principal;
}

// Refuses request bodies over a size before anything else reads them. API Gateway lets up to
// 10 MB through and the local bridge 1 MiB; nothing Cube takes comes near this limit.
import type middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { HttpError } from './httpErrors.js';

export const MAX_BODY_BYTES = 256 * 1024;

export function bodyByteLength(event: Pick<APIGatewayProxyEventV2, 'body' | 'isBase64Encoded'>) {
  if (typeof event.body !== 'string') return 0;
  return event.isBase64Encoded
    ? Buffer.byteLength(event.body, 'base64')
    : Buffer.byteLength(event.body, 'utf8');
}

export function bodyLimit(
  maxBytes = MAX_BODY_BYTES,
): middy.MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyResultV2> {
  return {
    before: async (request) => {
      if (bodyByteLength(request.event) > maxBytes) {
        throw new HttpError(
          413,
          'PAYLOAD_TOO_LARGE',
          `body: must be at most ${Math.floor(maxBytes / 1024)} KiB`,
        );
      }
    },
  };
}

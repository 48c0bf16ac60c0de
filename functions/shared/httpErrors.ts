// HTTP errors as JSON `{ error, message }`. Domain errors map to their status here, in one
// place; a store that is throttled, timed out or unreachable is a 503 to retry, not a fault
// of the request; anything else unexpected becomes a plain 500 that shows no internals.
import type middy from '@middy/core';
import { isServerError, isThrottlingError, isTransientError } from '@smithy/core/retry';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import {
  CapacityExhaustedError,
  ConflictError,
  InvalidTransitionError,
  NotFoundError,
  ValidationError,
} from '../../core/errors.js';

export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Headers the answer must carry, e.g. `Allow` on a 405 (RFC 9110). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function jsonResponse(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): APIGatewayProxyResultV2 {
  return {
    statusCode: status,
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  };
}

interface MiddyHttpError {
  statusCode?: number;
  expose?: boolean;
  message: string;
}

export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof ValidationError)
    return new HttpError(400, 'VALIDATION_FAILED', error.message);
  if (error instanceof NotFoundError) return new HttpError(404, 'NOT_FOUND', error.message);
  if (error instanceof InvalidTransitionError)
    return new HttpError(409, 'INVALID_STATE', error.message);
  if (error instanceof ConflictError || error instanceof CapacityExhaustedError) {
    return new HttpError(409, 'CONFLICT', `${error.message}; try again`);
  }
  const middyError = error as MiddyHttpError;
  if (middyError?.statusCode === 404 && middyError.expose) {
    return new HttpError(404, 'NOT_FOUND', 'no such route; see /v1/openapi.json');
  }
  if (middyError?.statusCode === 415 && middyError.expose) {
    return new HttpError(400, 'VALIDATION_FAILED', 'body: must be a JSON document');
  }
  if (middyError?.statusCode && middyError.statusCode < 500 && middyError.expose) {
    return new HttpError(middyError.statusCode, 'BAD_REQUEST', middyError.message);
  }
  if (isStoreUnavailable(error)) {
    return new HttpError(
      503,
      'UNAVAILABLE',
      'the control plane store did not answer in time; try again',
      { 'retry-after': '1' },
    );
  }
  return new HttpError(500, 'INTERNAL', 'internal error');
}

/** An AWS call that failed for a reason of the service, not of the request (the SDK's own rule). */
function isStoreUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  // biome-ignore lint/suspicious/noExplicitAny: the SDK's classifiers take its own error shape.
  const sdk = error as any;
  return isThrottlingError(sdk) || isTransientError(sdk) || isServerError(sdk);
}

/** Middy middleware: every thrown error becomes a JSON error response. */
export function jsonErrors(
  log: (error: unknown) => void = console.error,
): middy.MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyResultV2> {
  return {
    onError: async (request) => {
      const http = toHttpError(request.error);
      if (http.status >= 500) log(request.error);
      request.response = jsonResponse(
        http.status,
        { error: http.code, message: http.message },
        http.headers,
      );
    },
  };
}

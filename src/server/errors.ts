import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { Logger } from 'pino';
import { AppError } from '../services/errors';
import { isStorageError } from '../storage/errors';

const CLIENT_CODES: Record<string, string> = {
  GRAPHQL_PARSE_FAILED: 'BAD_USER_INPUT',
  GRAPHQL_VALIDATION_FAILED: 'BAD_USER_INPUT',
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  BAD_REQUEST: 'BAD_USER_INPUT',
  OPERATION_RESOLUTION_FAILURE: 'BAD_USER_INPUT',
  PERSISTED_QUERY_NOT_FOUND: 'BAD_USER_INPUT',
  PERSISTED_QUERY_NOT_SUPPORTED: 'BAD_USER_INPUT',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  RATE_LIMITED: 'RATE_LIMITED',
};

/**
 * Every error a client sees has one of the API's codes; anything unexpected is logged and
 * masked as INTERNAL. Used for HTTP (Apollo) and WebSocket (graphql-ws) alike.
 */
export function formatError(formatted: GraphQLFormattedError, error: unknown, log: Logger): GraphQLFormattedError {
  const original = error instanceof GraphQLError ? error.originalError ?? error : error;
  if (original instanceof AppError) {
    return { ...formatted, message: original.message, extensions: { ...original.extensions, code: original.code } };
  }
  if (isStorageError(original, 'INVALID_KEY')) {
    return { ...formatted, message: original.message, extensions: { code: 'BAD_USER_INPUT' } };
  }
  const code = (original instanceof GraphQLError ? original.extensions?.code : undefined) ?? formatted.extensions?.code;
  if (typeof code === 'string' && CLIENT_CODES[code]) {
    return { ...formatted, extensions: { ...details(formatted.extensions), code: CLIENT_CODES[code] } };
  }
  if (original instanceof GraphQLError && !original.originalError && code === undefined) {
    return { ...formatted, extensions: { code: 'BAD_USER_INPUT' } };
  }
  log.error({ err: original, path: formatted.path }, 'unexpected error');
  return { message: 'internal error', path: formatted.path, locations: formatted.locations, extensions: { code: 'INTERNAL' } };
}

/** What a client error's extensions may tell besides its code (e.g. which request limit, and its value): never a stack trace. */
function details(extensions: GraphQLFormattedError['extensions']): Record<string, unknown> {
  const { code: _code, stacktrace: _stack, http: _http, exception: _exception, ...rest } = (extensions ?? {}) as Record<string, unknown>;
  return rest;
}

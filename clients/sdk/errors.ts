/** Error codes the server puts in `extensions.code`. */
export type ServerErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'BAD_USER_INPUT'
  | 'CONFLICT'
  | 'PAYLOAD_TOO_LARGE'
  | 'PRECONDITION_FAILED'
  | 'RATE_LIMITED'
  | 'INTERNAL'
  /** A change-feed cursor older than the journal keeps: list again, continue from latestCursor. */
  | 'RESET';

/**
 * Codes raised by the client itself: NETWORK (server or store unreachable after retries),
 * STORE (a part store answered with an unexpected HTTP status), INTEGRITY (bytes do not match
 * their SHA-256 / contentHash), PROTOCOL (a response the client cannot understand), CHANGED (the
 * local file changed while it was being uploaded: nothing was completed; run it again).
 */
export type ClientErrorCode = 'NETWORK' | 'STORE' | 'INTEGRITY' | 'PROTOCOL' | 'CHANGED';

export type TesseraErrorCode = ServerErrorCode | ClientErrorCode;

/** Every failure the SDK reports (other than an abort) is a TesseraError with a `code`. */
export class TesseraError extends Error {
  constructor(
    readonly code: TesseraErrorCode,
    message: string,
    readonly details: {
      status?: number;
      /** The GraphQL error's path, e.g. ['completeUpload']. */
      path?: readonly (string | number)[];
      /** The GraphQL error's extensions besides `code` (e.g. missingParts). */
      extensions?: Record<string, unknown>;
      cause?: unknown;
    } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'TesseraError';
  }
}

/** True when `e` is a TesseraError, optionally with the given code. */
export function isTesseraError(e: unknown, code?: TesseraErrorCode): e is TesseraError {
  return e instanceof TesseraError && (code === undefined || e.code === code);
}

/** True for the error an aborted AbortSignal produces. */
export function isAbortError(e: unknown): boolean {
  const name = (e as { name?: unknown } | null)?.name;
  return name === 'AbortError' || name === 'TimeoutError';
}

/** The API's error codes (DESIGN.md): every error a client sees carries one. */
export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'BAD_USER_INPUT'
  | 'CONFLICT'
  | 'PAYLOAD_TOO_LARGE'
  | 'PRECONDITION_FAILED'
  | 'RATE_LIMITED'
  | 'RESET'
  | 'INTERNAL';

/** A domain error: its message is safe to show; `extensions` are added to the GraphQL error. */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const badInput = (message: string, extensions?: Record<string, unknown>) => new AppError('BAD_USER_INPUT', message, extensions);
export const notFound = (what = 'file') => new AppError('NOT_FOUND', `${what} not found`);

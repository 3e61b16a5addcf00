import { TesseraError, type TesseraErrorCode } from './errors';
import { isNetworkFailure, isRetryableStatus, withRetry, type RetryOptions } from './retry';

const KNOWN_CODES = new Set([
  'UNAUTHENTICATED', 'FORBIDDEN', 'NOT_FOUND', 'BAD_USER_INPUT', 'CONFLICT',
  'PAYLOAD_TOO_LARGE', 'PRECONDITION_FAILED', 'RATE_LIMITED', 'INTERNAL', 'RESET',
]);

/** An error as GraphQL responses carry it. */
export interface GraphQLErrorJson {
  message: string;
  path?: (string | number)[];
  extensions?: { code?: string; [key: string]: unknown };
}

export interface TransportOptions {
  /** Base URL of the Tessera server, e.g. http://localhost:4000 */
  server: string;
  token?: string;
  fetch?: typeof fetch;
  retry?: RetryOptions;
}

/**
 * A minimal GraphQL-over-HTTP transport for `POST <server>/graphql`.
 * Network failures, 5xx/429 answers without a GraphQL body and RATE_LIMITED errors are retried
 * with backoff; every other failure rejects at once with a TesseraError whose `code` is the
 * first error's `extensions.code` (unknown codes become INTERNAL).
 */
export class GraphQLTransport {
  readonly server: string;
  token: string | undefined;
  private readonly fetchImpl: typeof fetch;
  private readonly retry: RetryOptions;

  constructor(opts: TransportOptions) {
    this.server = opts.server.replace(/\/+$/, '');
    this.token = opts.token;
    this.fetchImpl = opts.fetch ?? fetch;
    this.retry = opts.retry ?? {};
  }

  /** The GraphQL endpoint URL. */
  get endpoint(): string {
    return `${this.server}/graphql`;
  }

  /** Runs one operation; resolves with `data`, rejects with TesseraError. */
  async request<T>(query: string, variables: Record<string, unknown> = {}, signal?: AbortSignal): Promise<T> {
    return withRetry(() => this.once<T>(query, variables, signal), isRetryable, { ...this.retry, signal });
  }

  private async once<T>(query: string, variables: Record<string, unknown>, signal?: AbortSignal): Promise<T> {
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    let res: Response;
    try {
      res = await this.fetchImpl(this.endpoint, { method: 'POST', headers, body: JSON.stringify({ query, variables }), signal });
    } catch (e) {
      if (isNetworkFailure(e)) throw new TesseraError('NETWORK', `cannot reach ${this.server}: ${causeMessage(e)}`, { cause: e });
      throw e;
    }
    const text = await res.text();
    let body: { data?: T | null; errors?: GraphQLErrorJson[] } | undefined;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (body?.errors?.length) throw toTesseraError(body.errors[0], res.status);
    if (!res.ok || !body || body.data == null) {
      const code: TesseraErrorCode = isRetryableStatus(res.status) ? 'NETWORK' : 'PROTOCOL';
      throw new TesseraError(code, `unexpected answer from ${this.endpoint}: HTTP ${res.status} ${text.slice(0, 200)}`, { status: res.status });
    }
    return body.data;
  }
}

/** The TesseraError for a GraphQL error (unknown codes become INTERNAL). */
export function toTesseraError(err: GraphQLErrorJson, status: number): TesseraError {
  const raw = err.extensions?.code ?? 'INTERNAL';
  const code = (KNOWN_CODES.has(raw) ? raw : raw === 'GRAPHQL_VALIDATION_FAILED' || raw === 'BAD_REQUEST' ? 'BAD_USER_INPUT' : 'INTERNAL') as TesseraErrorCode;
  const { code: _code, ...extensions } = err.extensions ?? {};
  return new TesseraError(code, err.message, { status, path: err.path, extensions });
}

function isRetryable(e: unknown): boolean {
  return e instanceof TesseraError && (e.code === 'NETWORK' || e.code === 'RATE_LIMITED');
}

/** The innermost message of an error chain (fetch hides the useful part in `cause`). */
export function causeMessage(e: unknown): string {
  let cur: unknown = e;
  let msg = String((e as Error)?.message ?? e);
  while (cur instanceof Error && cur.cause) {
    cur = cur.cause;
    msg = String((cur as Error).message ?? cur) || msg;
  }
  return msg;
}

import { GraphQLTransport } from '../../clients/sdk/graphql';
import { isTesseraError, TesseraError } from '../../clients/sdk/errors';

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

describe('GraphQLTransport', () => {
  const retry = { attempts: 3, baseDelayMs: 1 };

  it('posts the query with the bearer token and returns data', async () => {
    const calls: { url: string; init: RequestInit }[] = [];
    const t = new GraphQLTransport({
      server: 'http://tessera.test/',
      token: 'tok',
      fetch: (async (url: string, init: RequestInit) => {
        calls.push({ url, init });
        return json(200, { data: { me: { id: '1' } } });
      }) as unknown as typeof fetch,
    });
    await expect(t.request('query { me { id } }', { a: 1 })).resolves.toEqual({ me: { id: '1' } });
    expect(calls[0].url).toBe('http://tessera.test/graphql');
    expect((calls[0].init.headers as Record<string, string>).authorization).toBe('Bearer tok');
    expect(JSON.parse(String(calls[0].init.body))).toEqual({ query: 'query { me { id } }', variables: { a: 1 } });
  });

  it('turns the first GraphQL error into a TesseraError with its extensions.code', async () => {
    const t = new GraphQLTransport({
      server: 'http://tessera.test',
      fetch: (async () => json(200, { data: null, errors: [{ message: 'nope', path: ['file'], extensions: { code: 'NOT_FOUND', hint: 42 } }] })) as unknown as typeof fetch,
    });
    const err = await t.request('query { x }').catch((e) => e);
    expect(isTesseraError(err, 'NOT_FOUND')).toBe(true);
    expect((err as TesseraError).message).toBe('nope');
    expect((err as TesseraError).details.path).toEqual(['file']);
    expect((err as TesseraError).details.extensions).toEqual({ hint: 42 });
  });

  it('maps unknown codes to INTERNAL and does not retry them', async () => {
    let n = 0;
    const t = new GraphQLTransport({
      server: 'http://tessera.test',
      retry,
      fetch: (async () => {
        n++;
        return json(500, { errors: [{ message: 'boom', extensions: { code: 'WHATEVER' } }] });
      }) as unknown as typeof fetch,
    });
    await expect(t.request('query { x }')).rejects.toMatchObject({ code: 'INTERNAL' });
    expect(n).toBe(1);
  });

  it('retries network failures and bare 5xx answers, then succeeds', async () => {
    let n = 0;
    const t = new GraphQLTransport({
      server: 'http://tessera.test',
      retry,
      fetch: (async () => {
        n++;
        if (n === 1) throw new TypeError('fetch failed', { cause: new Error('ECONNREFUSED') });
        if (n === 2) return new Response('bad gateway', { status: 502 });
        return json(200, { data: { ok: true } });
      }) as unknown as typeof fetch,
    });
    await expect(t.request('query { ok }')).resolves.toEqual({ ok: true });
    expect(n).toBe(3);
  });

  it('gives up with NETWORK after the last attempt', async () => {
    const t = new GraphQLTransport({
      server: 'http://127.0.0.1:1',
      retry,
    });
    await expect(t.request('query { ok }')).rejects.toMatchObject({ code: 'NETWORK' });
  });
});

import type { AddressInfo } from 'node:net';
import http, { type Server } from 'node:http';
import express from 'express';
import { graphiqlRouter } from '../../src/server/graphiql';

const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';

describe('graphiqlRouter', () => {
  let server: Server;
  let base: string;

  beforeAll(async () => {
    const app = express();
    app.use(graphiqlRouter());
    // Stand-in for Apollo: anything the router passes on lands here.
    app.all('/graphql', express.json(), (req, res) => {
      res.status(200).json({ fellThrough: true, method: req.method, body: req.body ?? null });
    });
    await new Promise<void>((resolve) => {
      server = app.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    base = `http://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
  });

  async function getPage(): Promise<string> {
    const res = await fetch(`${base}/graphql`, { headers: { accept: BROWSER_ACCEPT } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('vary')).toMatch(/accept/i);
    return res.text();
  }

  function assetRefs(html: string): { scripts: string[]; styles: string[] } {
    const scripts = [...html.matchAll(/<script\b[^>]*\bsrc="([^"]+)"/g)].map((m) => m[1]);
    const styles = [...html.matchAll(/<link\b[^>]*\brel="stylesheet"[^>]*\bhref="([^"]+)"/g)].map((m) => m[1]);
    return { scripts, styles };
  }

  it('serves the GraphiQL page to browsers, referencing only local assets', async () => {
    const html = await getPage();
    expect(html).toMatch(/<div id="graphiql"[^>]*data-endpoint="\/graphql"/);
    const { scripts, styles } = assetRefs(html);

    // No remote URLs anywhere in script/link tags, and no inline scripts.
    const tags = [...html.matchAll(/<(script|link)\b[^>]*>/g)].map((m) => m[0]);
    expect(tags.length).toBeGreaterThan(0);
    for (const tag of tags) expect(tag).not.toMatch(/https?:|\/\//);
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);

    for (const url of [...scripts, ...styles]) expect(url.startsWith('/graphiql/assets/')).toBe(true);
    expect(scripts.some((s) => /react@18[^/]*\/react\.production\.min\.js$/.test(s))).toBe(true);
    expect(scripts.some((s) => /react-dom@18[^/]*\/react-dom\.production\.min\.js$/.test(s))).toBe(true);
    expect(scripts.some((s) => /graphiql@3[^/]*\/index\.umd\.js$/.test(s))).toBe(true);
    expect(scripts.some((s) => /graphql-ws@6[^/]*\/graphql-ws\.min\.js$/.test(s))).toBe(true);
    expect(styles.some((s) => /graphiql@3[^/]*\/style\.css$/.test(s))).toBe(true);
    // React must load before ReactDOM/GraphiQL, and the bootstrap last.
    expect(scripts.findIndex((s) => s.includes('/react@'))).toBe(0);
    expect(scripts[scripts.length - 1]).toMatch(/tessera-graphiql\.[0-9a-f]+\.js$/);
  });

  it('serves every referenced asset with a JS/CSS content type and long cache headers', async () => {
    const { scripts, styles } = assetRefs(await getPage());
    for (const [urls, type] of [
      [scripts, /^(text|application)\/javascript/],
      [styles, /^text\/css/],
    ] as const) {
      for (const url of urls) {
        const res = await fetch(base + url);
        expect({ url, status: res.status }).toEqual({ url, status: 200 });
        expect(res.headers.get('content-type')).toMatch(type);
        expect(res.headers.get('cache-control')).toMatch(/max-age=31536000/);
        expect(res.headers.get('cache-control')).toMatch(/immutable/);
        const body = await res.text();
        expect(body.length).toBeGreaterThan(0);
      }
    }
  });

  it('bootstrap wires the HTTP fetcher and graphql-ws subscriptions with header-derived connectionParams', async () => {
    const { scripts } = assetRefs(await getPage());
    const init = await (await fetch(base + scripts[scripts.length - 1])).text();
    expect(init).toContain("location.origin + endpoint");
    expect(init).toMatch(/'wss:\/\/' : 'ws:\/\/'\) \+ location\.host \+ endpoint/);
    expect(init).toContain('graphqlWs.createClient(');
    expect(init).toContain('GraphiQL.createFetcher({ url: url, wsClient: wsClient })');
    expect(init).toContain('key.toLowerCase()');
  });

  it('the served bundles make no remote script/style/font loads', async () => {
    const html = await getPage();
    const { scripts, styles } = assetRefs(html);
    for (const url of [...scripts, ...styles]) {
      const body = await (await fetch(base + url)).text();
      expect(body).not.toMatch(/@import\s+url\(\s*["']?https?:/i);
      expect(body).not.toMatch(/url\(\s*["']?https?:\/\//i);
      expect(body).not.toMatch(/(fonts\.googleapis|unpkg\.com\/|cdn\.jsdelivr\.net\/)[^"'\s]*\.(js|css|woff2?)/i);
    }
  });

  it('returns 304 for revalidated assets and 404-falls-through for unknown assets', async () => {
    const { scripts } = assetRefs(await getPage());
    const first = await fetch(base + scripts[scripts.length - 1]);
    const etag = first.headers.get('etag');
    expect(etag).toBeTruthy();
    // Not fetch(): undici adds `cache-control: no-cache` to conditional requests, which disables 304s.
    const status = await new Promise<number>((resolve, reject) => {
      http
        .get(base + scripts[scripts.length - 1], { headers: { 'if-none-match': etag! } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
        .on('error', reject);
    });
    expect(status).toBe(304);

    expect((await fetch(`${base}/graphiql/assets/nope.js`)).status).toBe(404);
    expect((await fetch(`${base}/graphiql/assets/..%2Fpackage.json`)).status).toBe(404);
    expect((await fetch(`${base}/graphiql/assets/react@18.3.1/../../package.json`)).status).toBe(404);
  });

  it('passes JSON POSTs through to the next handler (Apollo)', async () => {
    const res = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ fellThrough: true, method: 'POST', body: { query: '{ __typename }' } });
  });

  it('passes non-HTML GETs through (JSON, */*, no Accept)', async () => {
    for (const accept of ['application/json', '*/*', 'application/graphql-response+json, application/json;q=0.9', undefined]) {
      const res = await fetch(`${base}/graphql?query=%7B__typename%7D`, { headers: accept ? { accept } : {} });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/application\/json/);
      expect((await res.json()).fellThrough).toBe(true);
    }
  });
});

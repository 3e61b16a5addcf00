/**
 * Self-hosted GraphiQL for Tessera.
 *
 * The machine the server runs on may be offline, so everything GraphiQL needs
 * (React 18, ReactDOM 18, the GraphiQL 3 UMD bundle + CSS, the graphql-ws
 * browser client) is served from node_modules under `/graphiql/assets/...`.
 * No CDN is involved; the GraphiQL CSS inlines its fonts as data: URLs and the
 * UMD bundle performs no remote script/font loads at runtime.
 *
 * Mount the router at the app root, BEFORE the Apollo middleware:
 *
 *   app.use(graphiqlRouter());
 *   app.use('/graphql', cors(), express.json(), expressMiddleware(apollo));
 *
 * `GET /graphql` whose Accept header prefers text/html gets the GraphiQL page;
 * every other request on `/graphql` falls through (`next()`) to Apollo.
 *
 * Subscriptions: the page creates a graphql-ws client (graphql-ws 6 UMD,
 * global `graphqlWs`) for `ws(s)://<host>/graphql` and hands it to
 * `GraphiQL.createFetcher({ url, wsClient })`. The JSON from GraphiQL's
 * headers editor (e.g. `{"Authorization": "Bearer ..."}`) is sent as HTTP
 * headers and, lower-cased, as the ws `connectionParams`
 * (`{ authorization: "Bearer ..." }`). When the headers change, a fresh lazy
 * ws client is created so the next subscription authenticates with them.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import express, { type Request, type Response, type NextFunction } from 'express';

export interface GraphiqlRouterOptions {
  /** Path of the GraphQL endpoint (HTTP and WebSocket). Default `/graphql`. */
  endpoint?: string;
  /** Page title. Default `Tessera GraphiQL`. */
  title?: string;
}

/** URL prefix of the static assets. */
export const GRAPHIQL_ASSET_PREFIX = '/graphiql/assets';

const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';
const JSON_TYPE = 'application/json; charset=utf-8';
const ONE_YEAR_SECONDS = 365 * 24 * 60 * 60;
const IMMUTABLE = `public, max-age=${ONE_YEAR_SECONDS}, immutable`;

interface FileAsset {
  kind: 'file';
  file: string;
  type: string;
}
interface InlineAsset {
  kind: 'inline';
  body: string;
  type: string;
  etag: string;
}
type Asset = FileAsset | InlineAsset;

/** Directory of an installed package (works even when `exports` hides its files). */
function packageDir(name: string): string {
  return path.dirname(require.resolve(`${name}/package.json`));
}

function packageVersion(name: string): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require(`${name}/package.json`) as { version: string }).version;
}

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

/** Browser-side bootstrap. Plain ES2017, no template substitution: config comes from data-* attributes. */
const INIT_SCRIPT = `(function () {
  'use strict';
  var root = document.getElementById('graphiql');
  var endpoint = root.getAttribute('data-endpoint') || '/graphql';
  var url = location.origin + endpoint;
  var wsUrl = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + endpoint;

  /** Headers from the editor -> ws connectionParams with lower-cased keys ({ authorization: 'Bearer ...' }). */
  function toConnectionParams(headers) {
    var params = {};
    if (headers && typeof headers === 'object') {
      Object.keys(headers).forEach(function (key) {
        var value = headers[key];
        if (value !== undefined && value !== null) params[key.toLowerCase()] = String(value);
      });
    }
    return params;
  }

  // One lazy graphql-ws client per distinct header set. A lazy client only holds a socket
  // while a subscription is active, so replaced clients close themselves once idle.
  var current = null;
  function fetcherFor(headers) {
    var params = toConnectionParams(headers);
    var key = JSON.stringify(params);
    if (!current || current.key !== key) {
      var wsClient = graphqlWs.createClient({
        url: wsUrl,
        lazy: true,
        connectionParams: params,
        retryAttempts: 3,
      });
      current = { key: key, fetcher: GraphiQL.createFetcher({ url: url, wsClient: wsClient }) };
    }
    return current.fetcher;
  }

  // Sign-in bar: signIn with this browser's device id (kept in localStorage), so signing in again
  // reuses the device instead of adding one; the token is kept in localStorage too and sent as
  // the Authorization header (shown in the headers editor; the editor's own value wins).
  var TOKEN = 'tessera.graphiql.token';
  var DEVICE = 'tessera.graphiql.deviceId';
  var store = { get: function (k) { try { return localStorage.getItem(k); } catch (e) { return null; } },
    set: function (k, v) { try { if (v === null) localStorage.removeItem(k); else localStorage.setItem(k, v); } catch (e) { /* private mode */ } } };
  var form = document.getElementById('tessera-signin');
  var status = document.getElementById('tessera-signin-status');
  var signOutButton = document.getElementById('tessera-signout');

  function authHeaders() {
    var token = store.get(TOKEN);
    return token ? { Authorization: 'Bearer ' + token } : {};
  }

  function fetcher(graphQLParams, opts) {
    var headers = Object.assign({}, authHeaders(), (opts && opts.headers) || {});
    return fetcherFor(headers)(graphQLParams, Object.assign({}, opts, { headers: headers }));
  }

  var reactRoot = ReactDOM.createRoot(root);
  var mounts = 0;
  function render() {
    mounts += 1;
    reactRoot.render(
      React.createElement(GraphiQL, {
        key: 'graphiql-' + mounts, // remount so the headers editor shows the new token
        fetcher: fetcher,
        isHeadersEditorEnabled: true,
        shouldPersistHeaders: false,
        headers: store.get(TOKEN) ? JSON.stringify(authHeaders(), null, 2) : undefined,
        defaultQuery: '# Sign in above (or put {"Authorization": "Bearer <token>"} in Headers), then e.g.\\n{ me { email usage quotaBytes } }\\n',
      })
    );
  }

  function post(query, variables, token) {
    var headers = { 'Content-Type': 'application/json' };
    if (token) headers.Authorization = 'Bearer ' + token;
    return fetch(url, { method: 'POST', headers: headers, body: JSON.stringify({ query: query, variables: variables }) })
      .then(function (r) { return r.json(); });
  }

  function showSignedIn(email, device) {
    status.textContent = 'signed in as ' + email + (device ? ' (device ' + device + ')' : '');
    form.elements.email.value = email;
    form.elements.password.value = '';
    signOutButton.hidden = false;
  }

  function showSignedOut(message) {
    status.textContent = message || 'not signed in';
    signOutButton.hidden = true;
  }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    status.textContent = 'signing in…';
    post('mutation SignIn($email: String!, $password: String!, $deviceName: String, $deviceId: String) { signIn(email: $email, password: $password, deviceName: $deviceName, deviceId: $deviceId) { token user { email } device { id name } } }', {
      email: form.elements.email.value, password: form.elements.password.value,
      deviceName: store.get(DEVICE) ? null : 'GraphiQL (' + navigator.userAgent.slice(0, 150) + ')', deviceId: store.get(DEVICE),
    }).then(function (r) {
      if (r.errors || !r.data) return showSignedOut('sign-in failed: ' + ((r.errors && r.errors[0] && r.errors[0].message) || 'unknown error'));
      store.set(TOKEN, r.data.signIn.token);
      store.set(DEVICE, r.data.signIn.device.id);
      showSignedIn(r.data.signIn.user.email, r.data.signIn.device.name);
      render();
    }, function (e) { showSignedOut('sign-in failed: ' + e.message); });
  });

  signOutButton.addEventListener('click', function () {
    var token = store.get(TOKEN);
    // signOut ends the device on the server: the next sign-in from here makes a new one
    post('mutation { signOut }', {}, token).catch(function () { /* forgotten here anyway */ });
    store.set(TOKEN, null);
    store.set(DEVICE, null);
    showSignedOut();
    render();
  });

  // a token kept from an earlier visit: check it (a signed-out device's token is dropped)
  var kept = store.get(TOKEN);
  if (kept) {
    post('{ me { email } devices { name current } }', {}, kept).then(function (r) {
      if (r.data && r.data.me) {
        var current = (r.data.devices || []).filter(function (d) { return d.current; })[0];
        return showSignedIn(r.data.me.email, current && current.name);
      }
      store.set(TOKEN, null);
      showSignedOut('the saved sign-in has ended; sign in again');
      render();
    }, function () { showSignedOut(); });
  } else {
    showSignedOut();
  }
  render();
})();
`;

const PAGE_CSS = `html, body { height: 100%; margin: 0; overflow: hidden; }
body { display: flex; flex-direction: column; font-family: system-ui, sans-serif; }
#tessera-signin { display: flex; gap: 8px; align-items: center; padding: 6px 12px; font-size: 14px; border-bottom: 1px solid #ddd; }
#tessera-signin input { font: inherit; padding: 2px 6px; }
#tessera-signin-status { color: #555; }
#graphiql { flex: 1; min-height: 0; }
`;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function buildAssets(): { assets: Map<string, Asset>; urls: Record<'react' | 'reactDom' | 'graphiqlJs' | 'graphiqlCss' | 'graphqlWs' | 'init' | 'pageCss', string> } {
  const assets = new Map<string, Asset>();
  const addFile = (name: string, file: string, type: string, withMap = false): string => {
    if (!existsSync(file)) throw new Error(`graphiql asset missing: ${file}`);
    assets.set(name, { kind: 'file', file, type });
    if (withMap && existsSync(`${file}.map`)) {
      // Same directory + basename, so the bundle's relative sourceMappingURL resolves.
      assets.set(`${name}.map`, { kind: 'file', file: `${file}.map`, type: JSON_TYPE });
    }
    return `${GRAPHIQL_ASSET_PREFIX}/${name}`;
  };
  const addInline = (name: string, body: string, type: string): string => {
    assets.set(name, { kind: 'inline', body, type, etag: `"${shortHash(body)}"` });
    return `${GRAPHIQL_ASSET_PREFIX}/${name}`;
  };

  // Versioned directory names make the one-year immutable cache safe across upgrades.
  const reactDir = packageDir('react');
  const reactDomDir = packageDir('react-dom');
  const graphiqlDir = packageDir('graphiql');
  const graphqlWsDir = packageDir('graphql-ws');
  const v = {
    react: packageVersion('react'),
    reactDom: packageVersion('react-dom'),
    graphiql: packageVersion('graphiql'),
    graphqlWs: packageVersion('graphql-ws'),
  };

  const urls = {
    react: addFile(`react@${v.react}/react.production.min.js`, path.join(reactDir, 'umd', 'react.production.min.js'), JS),
    reactDom: addFile(
      `react-dom@${v.reactDom}/react-dom.production.min.js`,
      path.join(reactDomDir, 'umd', 'react-dom.production.min.js'),
      JS,
    ),
    graphiqlJs: addFile(`graphiql@${v.graphiql}/index.umd.js`, path.join(graphiqlDir, 'dist', 'index.umd.js'), JS, true),
    graphiqlCss: addFile(`graphiql@${v.graphiql}/style.css`, path.join(graphiqlDir, 'dist', 'style.css'), CSS),
    graphqlWs: addFile(`graphql-ws@${v.graphqlWs}/graphql-ws.min.js`, path.join(graphqlWsDir, 'umd', 'graphql-ws.min.js'), JS),
    init: addInline(`tessera-graphiql.${shortHash(INIT_SCRIPT)}.js`, INIT_SCRIPT, JS),
    pageCss: addInline(`tessera-graphiql.${shortHash(PAGE_CSS)}.css`, PAGE_CSS, CSS),
  };
  return { assets, urls };
}

/** True when the client prefers HTML over JSON (browsers); `*\/*` or JSON clients go to Apollo. */
function prefersHtml(req: Request): boolean {
  if (!req.headers.accept) return false;
  return req.accepts(['application/json', 'application/graphql-response+json', 'text/html']) === 'text/html';
}

/**
 * Express router serving GraphiQL at `GET <endpoint>` (HTML clients only) and its assets under
 * `/graphiql/assets/`. Mount at the app root, before Apollo.
 */
export function graphiqlRouter(options: GraphiqlRouterOptions = {}): express.Router {
  const endpoint = options.endpoint ?? '/graphql';
  const title = options.title ?? 'Tessera GraphiQL';
  const { assets, urls } = buildAssets();

  const html = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <meta name="robots" content="noindex" />
    <link rel="icon" href="data:," />
    <title>${escapeHtml(title)}</title>
    <link rel="stylesheet" href="${urls.graphiqlCss}" />
    <link rel="stylesheet" href="${urls.pageCss}" />
  </head>
  <body>
    <form id="tessera-signin" autocomplete="on">
      <strong>Tessera</strong>
      <input name="email" type="email" placeholder="email" autocomplete="username" required />
      <input name="password" type="password" placeholder="password" autocomplete="current-password" required />
      <button type="submit">Sign in</button>
      <button type="button" id="tessera-signout" hidden>Sign out</button>
      <span id="tessera-signin-status">not signed in</span>
    </form>
    <div id="graphiql" data-endpoint="${escapeHtml(endpoint)}">Loading GraphiQL…</div>
    <script src="${urls.react}"></script>
    <script src="${urls.reactDom}"></script>
    <script src="${urls.graphiqlJs}"></script>
    <script src="${urls.graphqlWs}"></script>
    <script src="${urls.init}"></script>
  </body>
</html>
`;

  const router = express.Router();

  router.get(endpoint, (req: Request, res: Response, next: NextFunction) => {
    res.vary('Accept'); // same URL answers HTML (here) or JSON (Apollo)
    if (!prefersHtml(req)) return next();
    res.set({
      'Content-Type': 'text/html; charset=utf-8',
      'Cache-Control': 'no-cache',
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
    });
    res.send(html);
  });

  router.get(`${GRAPHIQL_ASSET_PREFIX}/*asset`, (req: Request, res: Response, next: NextFunction) => {
    const segments = (req.params as { asset?: string | string[] }).asset;
    const name = Array.isArray(segments) ? segments.join('/') : segments ?? '';
    const asset = assets.get(name);
    if (!asset) return next();
    const headers = { 'Content-Type': asset.type, 'Cache-Control': IMMUTABLE, 'X-Content-Type-Options': 'nosniff' };
    if (asset.kind === 'inline') {
      res.set({ ...headers, ETag: asset.etag });
      if (req.fresh) {
        res.status(304).end();
        return;
      }
      res.send(asset.body);
      return;
    }
    // sendFile keeps our Content-Type/Cache-Control and adds ETag/Last-Modified/Range support.
    res.sendFile(asset.file, { headers, cacheControl: false, dotfiles: 'allow' }, (err) => {
      if (err && !res.headersSent) next(err);
    });
  });

  return router;
}

/**
 * Fan-out: N graphql-ws subscribers to `changes` on one local server (loopback), one change,
 * how long until every subscriber has it; and the server's memory per open subscription.
 *
 *   npm run build && npx tsc -p bench/tsconfig.json && node dist/bench/fanout.js [--subscribers 1000] [--rounds 5] [--write-doc]
 *
 * The server runs as its own process (SQLite, local store, in-process bus) exactly as `tessera
 * serve` would. All subscribers belong to one user (one journal namespace: every wake-up reads
 * the same rows, which the journal coalesces into one query). Latency is measured from just
 * before the createFolder request to the moment each subscriber's client receives the change,
 * so it includes the mutation's own commit and the client-side (this process) handling of 1,000
 * sockets. Memory per connection = (server RSS with all subscriptions open − RSS before) / N,
 * both taken after a forced settle. Prints a table; with --write-doc replaces the "## Fan-out"
 * section of docs/benchmarks.md. Exits non-zero only on error.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { spawn, type ChildProcess } from 'node:child_process';
import { arg, freePort } from './lib';

// Small helpers kept here so this bench stands alone.
const REPO = path.resolve(__dirname, '..', '..');
const children = new Set<ChildProcess>();
const killChildren = () => { for (const c of children) c.kill('SIGTERM'); };
const log = (msg: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const fmtBytes = (n: number) => (n >= 1024 ** 2 ? `${(n / 1024 ** 2).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);

function rssOf(pid: number): number {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(s)?.[1] ?? 0) * 1024;
}

function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const w = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => '| ' + r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join(' | ') + ' |';
  const sep = '|' + w.map((n, i) => (i === 0 ? '-'.repeat(n + 2) : '-'.repeat(n + 1) + ':')).join('|') + '|';
  return [line(cells[0]), sep, ...cells.slice(1).map(line)].join('\n');
}

/** The built server (dist/) as its own process on loopback; resolves once /readyz answers. */
async function startServer(env: NodeJS.ProcessEnv, logFile: string) {
  const entry = path.join(REPO, 'dist', 'src', 'server', 'main.js');
  if (!fs.existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` first`);
  const port = await freePort();
  const out = fs.openSync(logFile, 'a');
  const proc = spawn(process.execPath, [entry], { cwd: REPO, env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' }, stdio: ['ignore', out, out] });
  children.add(proc);
  fs.closeSync(out);
  let exited: number | null = null;
  proc.on('exit', (code) => { exited = code ?? -1; children.delete(proc); });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited !== null) throw new Error(`server exited ${exited} at start; see ${logFile}`);
    if (await fetch(`${url}/readyz`).then((r) => r.ok, () => false)) break;
    if (Date.now() > deadline) throw new Error(`server not ready after 60 s; see ${logFile}`);
    await sleep(200);
  }
  const stop = () => new Promise<void>((resolve) => {
    if (exited !== null) return resolve();
    const t = setTimeout(() => proc.kill('SIGKILL'), 15_000);
    proc.once('exit', () => { clearTimeout(t); resolve(); });
    proc.kill('SIGTERM');
  });
  return { url, proc, stop };
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};

async function gql(url: string, query: string, variables: Record<string, unknown>, token?: string): Promise<any> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as any;
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

async function main(): Promise<void> {
  const n = Number(arg('subscribers', '1000'));
  const rounds = Number(arg('rounds', '5'));
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-fanout-'));
  const server = await startServer({ DATA_DIR: dataDir, LOG_LEVEL: 'warn' }, path.join(dataDir, 'server.log'));
  const clients: Client[] = [];
  try {
    const { signUp } = await gql(server.url, 'mutation { signUp(email: "fanout@example.com", password: "correct horse battery") { token } }', {});
    const token = signUp.token as string;
    const { latestCursor } = await gql(server.url, '{ latestCursor }', {}, token);
    await sleep(1000);
    const before = rssOf(server.proc.pid!);

    // N connections, one subscription each
    const arrivals: number[][] = Array.from({ length: n }, () => []);
    let ready = 0;
    const wsUrl = server.url.replace('http', 'ws') + '/graphql';
    for (let i = 0; i < n; i += 100) {
      await Promise.all(Array.from({ length: Math.min(100, n - i) }, async (_, k) => {
        const idx = i + k;
        const client = createClient({ url: wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, retryAttempts: 0, lazy: false });
        clients.push(client);
        await new Promise<void>((resolve, reject) => {
          client.on('connected', () => resolve());
          client.on('error', reject);
        });
        client.subscribe({ query: 'subscription($c: String) { changes(cursor: $c) { path } }', variables: { c: latestCursor } }, {
          next: () => { arrivals[idx].push(performance.now()); },
          error: (e) => { log(`subscriber ${idx}: ${JSON.stringify(e)}`); },
          complete: () => {},
        });
        ready++;
      }));
    }
    // let every subscription finish its initial (empty) replay
    await sleep(2000);
    const after = rssOf(server.proc.pid!);
    log(`${ready} subscribers connected; server RSS ${fmtBytes(before)} -> ${fmtBytes(after)}`);

    const rows: (string | number)[][] = [];
    const p50s: number[] = [];
    const p99s: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const t0 = performance.now();
      await gql(server.url, 'mutation($p: String!) { createFolder(path: $p) { id } }', { p: `/round-${r}` }, token);
      const deadline = Date.now() + 30_000;
      while (arrivals.some((a) => a.length <= r)) {
        if (Date.now() > deadline) throw new Error(`round ${r}: ${arrivals.filter((a) => a.length <= r).length} subscribers never got the change`);
        await sleep(5);
      }
      const lat = arrivals.map((a) => a[r] - t0);
      p50s.push(pct(lat, 50));
      p99s.push(pct(lat, 99));
      rows.push([`round ${r + 1}`, pct(lat, 50).toFixed(1), pct(lat, 99).toFixed(1), Math.max(...lat).toFixed(1)]);
      await sleep(500);
    }
    const perConn = (after - before) / n;
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    rows.push(['median of rounds', med(p50s).toFixed(1), med(p99s).toFixed(1), '']);
    const out = [
      `${n} graphql-ws subscribers (one user) on one local server, one change per round; ms from the mutation request to receipt`,
      '',
      table(['', 'p50 ms', 'p99 ms', 'max ms'], rows),
      '',
      table(['server memory', 'value'], [
        ['RSS before subscribers', fmtBytes(before)],
        [`RSS with ${n} subscriptions`, fmtBytes(after)],
        ['per connection', fmtBytes(Math.round(perConn))],
      ]),
    ].join('\n');
    console.log(out);
    if (process.argv.includes('--write-doc')) writeDoc(out);
  } finally {
    await Promise.all(clients.map((c) => c.dispose()));
    await server.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Replaces (or appends) the "## Fan-out" section of docs/benchmarks.md; other sections stay. */
function writeDoc(body: string): void {
  const file = path.join(REPO, 'docs', 'benchmarks.md');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmarks\n';
  const section = [
    '## Fan-out',
    '',
    `Measured by \`bench/fanout.ts\` on ${os.cpus()[0]?.model ?? 'this machine'} (${os.cpus().length} CPUs), Node ${process.version}, ${new Date().toISOString().slice(0, 10)}.`,
    '',
    '```',
    body,
    '```',
    '',
  ].join('\n');
  const start = current.indexOf('\n## Fan-out');
  let next;
  if (start < 0) next = current.replace(/\n*$/, '\n\n') + section;
  else {
    const end = current.indexOf('\n## ', start + 1);
    next = current.slice(0, start + 1) + section + (end < 0 ? '' : current.slice(end + 1));
  }
  fs.writeFileSync(file, next);
  log(`wrote the Fan-out section of ${file}`);
}

process.on('SIGINT', () => { killChildren(); process.exit(130); });
main().catch((e) => {
  console.error(e);
  killChildren();
  process.exit(1);
});

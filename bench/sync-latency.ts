/**
 * DESIGN.md's "a small file written on device A appears on device B within a second (p50)":
 * two running sync engines (A and B, two devices of one account, watcher + change subscription)
 * against one local server (its own process: SQLite, local store). N small files are written in
 * A one at a time; each one's latency is from just before the write in A until B has renamed it
 * into place and its bytes are identical. Prints p50 / p90 / max; exits non-zero only on error
 * (including a file that never arrives within 30 s). `--tree N` first fills A with N small files
 * in nested folders (100 per folder, 10 folders per parent) and syncs them to B before measuring,
 * so the latency is measured with a big folder to watch and scan.
 *
 *   npm run build && npx tsc -p bench/tsconfig.json && node dist/bench/sync-latency.js [--files 30] [--size 4096] [--tree 0]
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TesseraClient } from '../clients/sdk/client';
import { SyncEngine } from '../clients/sync/engine';
import { arg, log, median, runBench, startServer, table } from './lib';

const FILES = Number(arg('files', '30'));
const SIZE = Number(arg('size', '4096'));
const TREE = Number(arg('tree', '0'));
const TIMEOUT_MS = 30_000;

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

/** N small files, 100 per folder, folders nested 10 per parent: t/0/f00.txt, t/0/0/f00.txt... */
function populate(folder: string, n: number): void {
  for (let i = 0; i < n; i++) {
    const dir = path.join(folder, 't', ...String(Math.floor(i / 100)).split(''));
    if (i % 100 === 0) fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `f${String(i % 100).padStart(2, '0')}.txt`), `file ${i}\n`);
  }
}

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-sync-bench-'));
  const server = await startServer({ DATA_DIR: path.join(work, 'server'), STORAGE: 'local' }, path.join(work, 'server.log'));
  const engines: SyncEngine[] = [];
  try {
    const email = `sync-bench-${Date.now()}@example.com`;
    await new TesseraClient({ server: server.url }).signUp(email, 'correct horse battery');
    const device = async (name: string) => {
      const client = new TesseraClient({ server: server.url });
      await client.signIn(email, 'correct horse battery', { deviceName: name });
      const folder = path.join(work, name);
      fs.mkdirSync(folder);
      if (name === 'A' && TREE > 0) {
        populate(folder, TREE);
        log(`A: ${TREE} files written`);
      }
      const arrived = new Map<string, number>();
      const engine = await SyncEngine.open({
        client, folder,
        onOutcome: (o) => { if (!o.error && (o.action.type === 'download' || o.action.type === 'moveLocal')) arrived.set(o.action.path, performance.now()); },
        onError: (e) => log(`${name}: ${e.message}`),
      });
      engines.push(engine);
      const t0 = performance.now();
      const r = await engine.runOnce();
      if (r.errors.length) throw new Error(`${name}: ${r.errors.length} actions failed, e.g. ${r.errors[0].error?.message}`);
      if (TREE > 0) log(`${name}: first sync took ${((performance.now() - t0) / 1000).toFixed(1)} s (${r.outcomes.length} actions)`);
      engine.start();
      return { folder, arrived };
    };
    const A = await device('A');
    const B = await device('B');

    const latencies: number[] = [];
    for (let i = 0; i < FILES; i++) {
      const name = `f${String(i).padStart(3, '0')}.bin`;
      const data = randomBytes(SIZE);
      const t0 = performance.now();
      fs.writeFileSync(path.join(A.folder, name), data);
      const deadline = Date.now() + TIMEOUT_MS;
      for (;;) {
        const at = B.arrived.get(`/${name}`);
        if (at !== undefined && fs.readFileSync(path.join(B.folder, name)).equals(data)) {
          latencies.push(at - t0);
          break;
        }
        if (Date.now() > deadline) throw new Error(`${name} did not arrive in B within ${TIMEOUT_MS} ms`);
        await new Promise((r) => setTimeout(r, 2));
      }
    }
    const ms = (x: number) => x.toFixed(0);
    process.stdout.write('\n' + table(
      ['sync latency A -> B (local server, SQLite, local store)', 'files', 'size', 'p50 ms', 'p90 ms', 'max ms', 'target p50'],
      [[`write in A until byte-identical in B${TREE ? ` (${TREE} files synced)` : ''}`, FILES, `${SIZE} B`, ms(median(latencies)), ms(percentile(latencies, 90)), ms(Math.max(...latencies)), '≤ 1000 ms']],
    ) + '\n');
  } finally {
    for (const e of engines) await e.close().catch(() => undefined);
    await server.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

runBench(main);

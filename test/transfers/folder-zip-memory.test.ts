import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TesseraClient } from '../../clients/sdk/client';
import { createShareLink } from '../../clients/sdk/links';
import { freePort, requireBuild, ROOT, until } from './processes';

const MiB = 1024 * 1024;
const SIZE = 256 * MiB;

/** Resident memory of a process, bytes (Linux /proc). */
function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) * 1024;
}

/**
 * A folder link's zip is streamed in constant memory: a real server process serves the zip of a
 * folder holding a 256 MiB file while its resident memory is sampled; it must not grow by anything
 * near the file's size (it would by 256 MiB if the entry were buffered).
 */
describe('folder link zip memory', () => {
  it('serves a 256 MiB folder as a zip without growing by the file size', async () => {
    requireBuild();
    const dir = mkdtempSync(join(tmpdir(), 'tessera-zipmem-'));
    const port = await freePort();
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: join(dir, 'data'), LOG_LEVEL: 'warn' };
    delete env.DATABASE_URL;
    delete env.STORAGE;
    const child = spawn(process.execPath, [join(ROOT, 'dist', 'src', 'server', 'main.js')], { env, stdio: 'ignore' });
    try {
      const url = `http://127.0.0.1:${port}`;
      await until(() => fetch(`${url}/healthz`).then((r) => r.ok, () => false), 20_000);
      // a 256 MiB file of varied bytes, written in 1 MiB blocks
      const file = join(dir, 'big.bin');
      const fd = openSync(file, 'w');
      const block = Buffer.alloc(MiB);
      for (let i = 0; i < SIZE / MiB; i++) { block.fill(i % 251); block.writeUInt32LE(i, 0); writeSync(fd, block); }
      closeSync(fd);
      const client = new TesseraClient({ server: url });
      await client.signUp(`zipmem-${Date.now()}@example.com`, 'correct horse battery');
      await client.upload(file, '/folder/big.bin');
      const folder = (await client.fileByPath('/folder'))!;
      const link = await createShareLink(client.api, folder.id);

      await new Promise((r) => setTimeout(r, 500));
      const baseline = rss(child.pid!);
      let peak = baseline;
      const sampler = setInterval(() => { peak = Math.max(peak, rss(child.pid!)); }, 20);
      let received = 0;
      try {
        const res = await fetch(`${link.url}/zip`);
        expect(res.status).toBe(200);
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) received += chunk.length;
      } finally {
        clearInterval(sampler);
      }
      expect(received).toBeGreaterThan(SIZE); // the entry plus headers and the central directory
      expect(peak - baseline).toBeLessThan(64 * MiB);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.on('exit', r));
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});

/**
 * Upload throughput of the web app in headless Chromium against the CLI's, same file size, same
 * Ceph RGW, same server (STORAGE=s3), alternating browser / CLI for each run.
 *
 *   npm run build && npx tsc -p bench/tsconfig.json && node dist/bench/browser-upload.js [--runs 3] [--size-mib 1024]
 *
 * Needs /usr/bin/chromium (Debian's) and scripts/start-rgw.sh (called here). Each run uploads a
 * fresh random file (Tessera deduplicates) and signs up a new user (untimed). The browser's time
 * runs from the file being picked to the upload panel saying "done" (hashing in Web Workers
 * included); the CLI's is the whole `tessera upload` command. Prints medians and the ratio.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { arg, MiB, REPO, drainRgw, fmtBytes, log, median, mustRun, runBench, startServer, table, writeRandomFile } from './lib';
import { rgwEnv } from './peers';
import { emptyRgwPrefix } from '../test/helpers/rgw';

const RUNS = Number(arg('runs', '3'));
const SIZE = Number(arg('size-mib', '1024')) * MiB;

async function main(): Promise<void> {
  const s3 = rgwEnv();
  const prefix = `bench-browser-${Date.now().toString(36)}`;
  const work = fs.mkdtempSync(path.join(process.env.BENCH_DIR ?? os.tmpdir(), 'tessera-bench-browser-'));
  const server = await startServer({ STORAGE: 's3', ...s3, S3_PREFIX: `${prefix}/tessera/`, DATA_DIR: path.join(work, 'server') }, path.join(work, 'server.log'));
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
  const samples: { tool: string; seconds: number }[] = [];
  try {
    for (let run = 1; run <= RUNS; run++) {
      for (const tool of run % 2 ? ['browser', 'cli'] : ['cli', 'browser']) {
        const file = path.join(work, `src-${run}-${tool}.bin`);
        await writeRandomFile(file, SIZE);
        const email = `bench-${run}-${tool}-${Date.now()}@example.com`;
        let seconds: number;
        if (tool === 'browser') {
          const context = await browser.newContext();
          const page = await context.newPage();
          await page.goto(server.url + '/');
          await page.getByRole('link', { name: 'Create an account' }).click();
          await page.getByLabel('Email').fill(email);
          await page.getByLabel('Password').fill('correct horse battery');
          await page.getByRole('button', { name: 'Sign up' }).click();
          await page.getByRole('navigation', { name: 'Breadcrumbs' }).waitFor();
          let firstPut = 0;
          page.on('request', (r) => { if (r.method() === 'PUT' && !firstPut) firstPut = Date.now(); });
          const t0 = Date.now();
          await page.getByTestId('file-input').setInputFiles(file);
          await page.locator('li[data-phase="done"]').waitFor({ timeout: 3_600_000 });
          seconds = (Date.now() - t0) / 1000;
          log(`browser: first part PUT after ${((firstPut - t0) / 1000).toFixed(2)} s (hashing)`);
          await context.close();
        } else {
          const cfg = path.join(work, `cli-${run}`);
          const env = { ...process.env, TESSERA_SERVER: server.url, TESSERA_CONFIG_DIR: cfg };
          const cli = path.join(REPO, 'bin', 'tessera.js');
          await mustRun(process.execPath, [cli, 'signup', '--email', email, '--password', 'correct horse battery'], { env });
          const t0 = Date.now();
          await mustRun(process.execPath, [cli, 'upload', file, '/bench.bin'], { env });
          seconds = (Date.now() - t0) / 1000;
        }
        fs.rmSync(file);
        samples.push({ tool, seconds });
        log(`run ${run} ${tool}: ${seconds.toFixed(2)} s (${(SIZE / MiB / seconds).toFixed(0)} MiB/s)`);
        // untimed: this run's objects are not needed again (each run is a new user and file);
        // RGW's memstore keeps every byte in RAM and stops taking writes (and deletes) when full
        await emptyRgwPrefix(prefix);
        await drainRgw(process.env.BENCH_NO_DRAIN ? 5 * 1024 * MiB : undefined);
      }
    }
  } finally {
    await browser.close();
    await server.stop();
    await emptyRgwPrefix(prefix); // RGW's memstore keeps every object in RAM
    fs.rmSync(work, { recursive: true, force: true });
  }
  const med = (t: string) => median(samples.filter((s) => s.tool === t).map((s) => s.seconds));
  const b = med('browser');
  const c = med('cli');
  process.stdout.write(`\nupload of ${fmtBytes(SIZE)} to Ceph RGW, median of ${RUNS}\n`);
  process.stdout.write(table(['client', 'seconds', 'MiB/s'], [
    ['web app (Chromium)', b.toFixed(2), (SIZE / MiB / b).toFixed(0)],
    ['CLI', c.toFixed(2), (SIZE / MiB / c).toFixed(0)],
  ]) + `\nbrowser / CLI: ${(b / c).toFixed(2)}×\n`);
}

runBench(main);

/**
 * 1 GiB upload + download against the same Ceph RGW: Tessera CLI vs `aws s3 cp` vs `rclone copy`.
 *
 *   npx tsc -p bench/tsconfig.json && node dist/bench/transfer.js [--runs 3] [--size-mib 1024]
 *       [--tessera-concurrency N] [--tools tessera,aws,rclone] [--aws /usr/bin/aws]
 *
 * Needs `npm run build` (the server and CLI under dist/), aws, rclone, and scripts/start-rgw.sh
 * (called here; idempotent). Tools run alternately in one session (ABC BCA CAB ...), each doing its
 * upload then its download; the median wall time per tool and direction is reported with the
 * ratios Tessera/aws and Tessera/rclone. Wall time is the whole command, process start included.
 *
 * Fairness: one random source file (in the page cache for every tool). Tessera deduplicates per
 * owner, so every Tessera run signs up a NEW user (untimed): no run can complete instantly, and
 * the bench fails if the CLI reports "already stored". Every download is compared with the
 * source (cmp, untimed). After each tool's round trip everything under this run's prefix is
 * deleted and RGW's garbage collector is run when the memstore OSD holds more than 3 GiB.
 * Tessera downloads twice per run: by default (like the peers, flushing is left to the OS) and
 * with --fsync (durable: on disk before the rename); both are reported.
 * Prints a table on stdout; exits non-zero only on error.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { arg, GiB, MiB, REPO, drainRgw, fmtBytes, log, median, mustRun, runBench, sameFile, startServer, table, version, writeRandomFile } from './lib';
import { awsBinary, peerEnv, rgwEnv } from './peers';

type Tool = 'tessera' | 'aws' | 'rclone';
/** A tool, or Tessera's durable download (`--fsync`, which neither peer does), timed right after its default download. */
type Variant = Tool | 'tessera --fsync';
interface Sample { tool: Variant; run: number; dir: 'upload' | 'download'; seconds: number; peakRss: number }

const RUNS = Number(arg('runs', '3'));
const SIZE = Number(arg('size-mib', '1024')) * MiB;
const TESSERA_C = arg('tessera-concurrency', '');
const TOOLS = arg('tools', 'tessera,aws,rclone').split(',') as Tool[];
const AWS = awsBinary(arg('aws', ''));

async function main(): Promise<void> {
  const s3 = rgwEnv();
  const stamp = `${new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14)}-${process.pid}`;
  const prefix = `bench-transfer-${stamp}`;
  const work = fs.mkdtempSync(path.join(process.env.BENCH_DIR ?? os.tmpdir(), 'tessera-bench-transfer-'));
  const src = path.join(work, 'source.bin');
  const dl = path.join(work, 'dl');
  fs.mkdirSync(dl);
  log(`work dir ${work}; S3 prefix ${prefix}/ in bucket ${s3.S3_BUCKET}; ${RUNS} run(s) of ${TOOLS.join(', ')}; ${fmtBytes(SIZE)}`);

  const env = peerEnv(s3, work);
  const awsEp = ['--endpoint-url', s3.S3_ENDPOINT];
  const bucketUrl = `s3://${s3.S3_BUCKET}/${prefix}`;

  const server = await startServer({
    STORAGE: 's3', ...s3, S3_PREFIX: `${prefix}/tessera/`, DATA_DIR: path.join(work, 'server'),
  }, path.join(work, 'server.log'));
  log(`Tessera server (STORAGE=s3, SQLite) at ${server.url}, pid ${server.proc.pid}`);
  const cli = path.join(REPO, 'bin', 'tessera.js');
  const cliEnv = (cfg: string): NodeJS.ProcessEnv => ({ ...process.env, TESSERA_SERVER: server.url, TESSERA_CONFIG_DIR: cfg });
  const cOpt = TESSERA_C ? ['--concurrency', TESSERA_C] : [];

  const samples: Sample[] = [];
  const cleanupPrefix = async () => {
    await mustRun(AWS, [...awsEp, 's3', 'rm', '--recursive', '--only-show-errors', `${bucketUrl}/`], { env });
  };
  try {
    log(`writing ${fmtBytes(SIZE)} of random data to ${src}`);
    await writeRandomFile(src, SIZE);
    for (let r = 1; r <= RUNS; r++) {
      // the order rotates each run (ABC, BCA, CAB...): no tool always follows the same one or a GC
      for (const tool of [...TOOLS.slice((r - 1) % TOOLS.length), ...TOOLS.slice(0, (r - 1) % TOOLS.length)]) {
        await drainRgw();
        const out = path.join(dl, `${tool}-${r}.bin`);
        let up, down, downFsync;
        if (tool === 'tessera') {
          const cfg = path.join(work, `cli-${r}`);
          await mustRun(process.execPath, [cli, 'signup', '--email', `bench-${stamp}-${r}@example.com`, '--password', 'bench-password-1'], { env: cliEnv(cfg) });
          up = await mustRun(process.execPath, [cli, 'upload', ...cOpt, src, `/bench-${r}.bin`], { env: cliEnv(cfg) });
          if (/already stored|resumed/.test(up.stderr + up.stdout)) throw new Error(`Tessera upload was not a full upload: ${up.stderr.slice(-300)}`);
          down = await mustRun(process.execPath, [cli, 'download', ...cOpt, `/bench-${r}.bin`, out], { env: cliEnv(cfg) });
          if (!sameFile(src, out)) throw new Error(`tessera run ${r}: downloaded file differs from the source`);
          fs.rmSync(out, { force: true });
          downFsync = await mustRun(process.execPath, [cli, 'download', '--fsync', ...cOpt, `/bench-${r}.bin`, out], { env: cliEnv(cfg) });
        } else if (tool === 'aws') {
          up = await mustRun(AWS, [...awsEp, 's3', 'cp', '--only-show-errors', src, `${bucketUrl}/aws-${r}/source.bin`], { env });
          down = await mustRun(AWS, [...awsEp, 's3', 'cp', '--only-show-errors', `${bucketUrl}/aws-${r}/source.bin`, out], { env });
        } else {
          up = await mustRun('rclone', ['copy', src, `RGW:${s3.S3_BUCKET}/${prefix}/rclone-${r}/`], { env });
          const d = path.join(dl, `rclone-${r}`);
          down = await mustRun('rclone', ['copy', `RGW:${s3.S3_BUCKET}/${prefix}/rclone-${r}/source.bin`, d], { env });
          fs.renameSync(path.join(d, 'source.bin'), out);
          fs.rmdirSync(d);
        }
        if (!sameFile(src, out)) throw new Error(`${tool} run ${r}: downloaded file differs from the source`);
        fs.rmSync(out, { force: true });
        samples.push({ tool, run: r, dir: 'upload', seconds: up.seconds, peakRss: up.peakRss });
        samples.push({ tool, run: r, dir: 'download', seconds: down.seconds, peakRss: down.peakRss });
        if (downFsync) samples.push({ tool: 'tessera --fsync', run: r, dir: 'download', seconds: downFsync.seconds, peakRss: downFsync.peakRss });
        const extra = downFsync ? `, --fsync ${downFsync.seconds.toFixed(2)} s` : '';
        log(`run ${r} ${tool.padEnd(7)} upload ${up.seconds.toFixed(2)} s, download ${down.seconds.toFixed(2)} s${extra} (load ${os.loadavg()[0].toFixed(2)})`);
        await cleanupPrefix();
      }
    }
  } finally {
    await server.stop();
    await cleanupPrefix().catch((e) => log(`cleanup of ${bucketUrl}/ failed: ${e}`));
    if (!process.env.BENCH_KEEP) fs.rmSync(work, { recursive: true, force: true });
  }

  // report
  const med = (tool: Variant, dir: Sample['dir']) => median(samples.filter((s) => s.tool === tool && s.dir === dir).map((s) => s.seconds));
  const peak = (tool: Variant, dir: Sample['dir']) => Math.max(...samples.filter((s) => s.tool === tool && s.dir === dir).map((s) => s.peakRss));
  const rows: (string | number)[][] = [];
  for (const dir of ['upload', 'download'] as const) {
    const variants: Variant[] = dir === 'download' && TOOLS.includes('tessera') ? [...TOOLS, 'tessera --fsync'] : TOOLS;
    for (const tool of variants) {
      const m = med(tool, dir);
      const all = samples.filter((s) => s.tool === tool && s.dir === dir).map((s) => s.seconds.toFixed(2)).join(', ');
      const ratio = (peer: Tool) => (TOOLS.includes(peer) && tool.startsWith('tessera') ? `${(m / med(peer, dir)).toFixed(2)}×` : '');
      rows.push([`${dir} ${tool}`, all, m.toFixed(2), `${(SIZE / MiB / m).toFixed(0)}`, `${(peak(tool, dir) / MiB).toFixed(0)}`, ratio('aws'), ratio('rclone')]);
    }
  }
  const lines = [
    `Transfers of ${fmtBytes(SIZE)} to/from Ceph RGW (memstore) on 127.0.0.1, ${RUNS} alternating run(s), order rotating; ${new Date().toISOString()}`,
    `machine: ${os.cpus().length} cores (${os.cpus()[0]?.model}), ${(os.totalmem() / GiB).toFixed(0)} GiB RAM, Node ${process.version}`,
    `tools: tessera CLI (--concurrency ${TESSERA_C || 'default'}), ${version(AWS, ['--version'])}, ${version('rclone', ['version'])}`,
    '',
    table(['tool', 'wall times (s)', 'median (s)', 'MiB/s', 'peak RSS (MiB)', 'Tessera/aws', 'Tessera/rclone'], rows),
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

runBench(main);

/**
 * Many small files to and from the same Ceph RGW: `tessera upload <folder>` / `tessera download
 * <folder>` vs `aws s3 cp --recursive` vs `rclone copy`.
 *
 *   npx tsc -p bench/tsconfig.json && node dist/bench/small-files.js [--runs 3] [--files 1000]
 *       [--size-kib 16] [--tools tessera,aws,rclone] [--aws /usr/bin/aws] [--drain-gib 16]
 *
 * Needs `npm run build`, aws, rclone and scripts/start-rgw.sh (called here). One tree of random
 * files (`--files` of `--size-kib` each, 100 per folder) is uploaded and downloaded by each tool
 * in turn, the order rotating every run; wall time of the whole command, process start included.
 * Tessera deduplicates per owner, so every Tessera run signs up a new user (untimed). Every
 * download is compared with the source tree (untimed). Prints a table; exits non-zero only on error.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { arg, MiB, REPO, cpuSecondsOf, drainRgw, log, median, mustRun, storeCpuSeconds, storePids, runBench, sameFile, startServer, table, version, type RunResult } from './lib';
import { awsBinary, peerEnv, rgwEnv } from './peers';

type Tool = 'tessera' | 'aws' | 'rclone';
interface Sample { tool: Tool; dir: 'upload' | 'download'; seconds: number; peakRss: number; cpu: number; serverCpu: number; rgwCpu: number }

const RUNS = Number(arg('runs', '3'));
const FILES = Number(arg('files', '1000'));
const SIZE = Number(arg('size-kib', '16')) * 1024;
const TOOLS = arg('tools', 'tessera,aws,rclone').split(',') as Tool[];
const AWS = awsBinary(arg('aws', ''));
const PER_FOLDER = 100;
/** RGW's garbage collector runs before a tool when the OSD holds more than this (its run takes minutes on a full OSD; 16 MiB per tool does not need it). */
const DRAIN_GIB = Number(arg('drain-gib', '16'));

/** Writes the source tree: FILES random files, PER_FOLDER per folder. Returns their relative paths. */
function writeTree(root: string): string[] {
  const rel: string[] = [];
  for (let i = 0; i < FILES; i++) {
    const r = path.join(`d${Math.floor(i / PER_FOLDER)}`, `f${i}.bin`);
    fs.mkdirSync(path.join(root, path.dirname(r)), { recursive: true });
    fs.writeFileSync(path.join(root, r), randomBytes(SIZE));
    rel.push(r);
  }
  return rel;
}

function checkTree(tool: Tool, src: string, out: string, rel: string[]): void {
  for (const r of rel) {
    if (!sameFile(path.join(src, r), path.join(out, r))) throw new Error(`${tool}: ${r} differs from the source after the download`);
  }
}

async function main(): Promise<void> {
  const s3 = rgwEnv();
  const stamp = `${new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14)}-${process.pid}`;
  const prefix = `bench-small-${stamp}`;
  const work = fs.mkdtempSync(path.join(process.env.BENCH_DIR ?? os.tmpdir(), 'tessera-bench-small-'));
  const src = path.join(work, 'tree');
  const env = peerEnv(s3, work);
  const awsEp = ['--endpoint-url', s3.S3_ENDPOINT];
  const bucketUrl = `s3://${s3.S3_BUCKET}/${prefix}`;
  log(`work dir ${work}; S3 prefix ${prefix}/; ${RUNS} run(s) of ${TOOLS.join(', ')}; ${FILES} files of ${SIZE / 1024} KiB`);
  const rel = writeTree(src);

  const server = await startServer({ STORAGE: 's3', ...s3, S3_PREFIX: `${prefix}/tessera/`, DATA_DIR: path.join(work, 'server') }, path.join(work, 'server.log'));
  const cli = path.join(REPO, 'bin', 'tessera.js');
  const cliEnv = (cfg: string): NodeJS.ProcessEnv => ({ ...process.env, TESSERA_SERVER: server.url, TESSERA_CONFIG_DIR: cfg });
  const samples: Sample[] = [];
  try {
    for (let r = 1; r <= RUNS; r++) {
      for (const tool of [...TOOLS.slice((r - 1) % TOOLS.length), ...TOOLS.slice(0, (r - 1) % TOOLS.length)]) {
        await drainRgw(DRAIN_GIB * 1024 * MiB);
        const out = path.join(work, `out-${tool}-${r}`);
        let up, down;
        // CPU seconds the Tessera server and the RGW spend during each command (other work on the machine is not counted)
        const rgw = storePids();
        const measured = async (cmd: () => Promise<RunResult>) => {
          const s0 = cpuSecondsOf(server.proc.pid!);
          const g0 = storeCpuSeconds(rgw);
          const res = await cmd();
          return { ...res, serverCpu: cpuSecondsOf(server.proc.pid!) - s0, rgwCpu: storeCpuSeconds(rgw) - g0 };
        };
        if (tool === 'tessera') {
          const cfg = path.join(work, `cli-${r}`);
          await mustRun(process.execPath, [cli, 'signup', '--email', `bench-${stamp}-${r}@example.com`, '--password', 'bench-password-1'], { env: cliEnv(cfg) });
          up = await measured(() => mustRun(process.execPath, [cli, 'upload', src, '/tree'], { env: cliEnv(cfg) }));
          down = await measured(() => mustRun(process.execPath, [cli, 'download', '/tree', out], { env: cliEnv(cfg) }));
        } else if (tool === 'aws') {
          up = await measured(() => mustRun(AWS, [...awsEp, 's3', 'cp', '--recursive', '--only-show-errors', src, `${bucketUrl}/aws-${r}/`], { env }));
          down = await measured(() => mustRun(AWS, [...awsEp, 's3', 'cp', '--recursive', '--only-show-errors', `${bucketUrl}/aws-${r}/`, out], { env }));
        } else {
          up = await measured(() => mustRun('rclone', ['copy', src, `RGW:${s3.S3_BUCKET}/${prefix}/rclone-${r}/`], { env }));
          down = await measured(() => mustRun('rclone', ['copy', `RGW:${s3.S3_BUCKET}/${prefix}/rclone-${r}/`, out], { env }));
        }
        checkTree(tool, src, out, rel);
        fs.rmSync(out, { recursive: true, force: true });
        const sample = (dir: Sample['dir'], x: typeof up) => ({ tool, dir, seconds: x.seconds, peakRss: x.peakRss, cpu: x.cpuSeconds, serverCpu: tool === 'tessera' ? x.serverCpu : 0, rgwCpu: x.rgwCpu });
        samples.push(sample('upload', up), sample('download', down));
        log(`run ${r} ${tool.padEnd(7)} upload ${up.seconds.toFixed(2)} s, download ${down.seconds.toFixed(2)} s (load ${os.loadavg()[0].toFixed(2)})`);
      }
    }
  } finally {
    await server.stop();
    await mustRun(AWS, [...awsEp, 's3', 'rm', '--recursive', '--only-show-errors', `${bucketUrl}/`], { env }).catch((e) => log(`cleanup failed: ${e}`));
    if (!process.env.BENCH_KEEP) fs.rmSync(work, { recursive: true, force: true });
  }

  const pick = (tool: Tool, dir: Sample['dir']) => samples.filter((s) => s.tool === tool && s.dir === dir);
  const med = (tool: Tool, dir: Sample['dir']) => median(pick(tool, dir).map((s) => s.seconds));
  const rows: (string | number)[][] = [];
  for (const dir of ['upload', 'download'] as const) {
    for (const tool of TOOLS) {
      const m = med(tool, dir);
      const ratio = (peer: Tool) => (tool === 'tessera' && TOOLS.includes(peer) ? `${(m / med(peer, dir)).toFixed(2)}×` : '');
      rows.push([`${dir} ${tool}`, pick(tool, dir).map((s) => s.seconds.toFixed(2)).join(', '), m.toFixed(2), (FILES / m).toFixed(0),
        (Math.max(...pick(tool, dir).map((s) => s.peakRss)) / MiB).toFixed(0), ratio('aws'), ratio('rclone')]);
    }
  }
  const cpuRows = (['upload', 'download'] as const).flatMap((dir) => TOOLS.map((tool) => {
    const m = (f: (s: Sample) => number) => median(pick(tool, dir).map(f)).toFixed(2);
    return [`${dir} ${tool}`, m((s) => s.cpu), tool === 'tessera' ? m((s) => s.serverCpu) : '', m((s) => s.rgwCpu)];
  }));
  process.stdout.write([
    `${FILES} files of ${SIZE / 1024} KiB (${FILES / PER_FOLDER} folders) to/from Ceph RGW on 127.0.0.1, ${RUNS} alternating run(s); ${new Date().toISOString()}`,
    `machine: ${os.cpus().length} cores (${os.cpus()[0]?.model}), Node ${process.version}; ${version(AWS, ['--version'])}; ${version('rclone', ['version'])}`,
    '',
    table(['tool', 'wall times (s)', 'median (s)', 'files/s', 'peak RSS (MiB)', 'Tessera/aws', 'Tessera/rclone'], rows),
    '',
    'CPU seconds per command (medians; the tool\'s own process sampled every 250 ms, so a lower bound; Tessera server, RGW and OSD from /proc before and after):',
    '',
    table(['tool', 'tool CPU (s)', 'Tessera server CPU (s)', 'RGW+OSD CPU (s)'], cpuRows),
  ].join('\n') + '\n');
}

runBench(main);

import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { emptyRgwPrefix, rgwEnv } from '../helpers/rgw';
import { freePort, killHard, requireBuild, runCli, startServerProcess, until, type ServerProcess } from './processes';

const MiB = 1024 * 1024;
// 49 parts (fixed ones, --fixed-parts): the CLI confirms parts in batches of 16, so each kill below leaves a good share unsent
const SIZE = 48 * 8 * MiB + 12345;

/** Parts the server has recorded as stored or verified, read straight from its SQLite file. */
function partsKnown(dataDir: string): number {
  const file = path.join(dataDir, 'tessera.sqlite');
  if (!fs.existsSync(file)) return 0;
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare("SELECT COUNT(*) AS n FROM upload_parts WHERE status != 'PENDING'").get() as { n: number }).n;
  } finally {
    db.close();
  }
}

const stores: [string, () => Record<string, string>][] = [
  ['local', () => ({ STORAGE: 'local' })],
  ['s3', () => {
    const e = rgwEnv();
    return {
      STORAGE: 's3', S3_ENDPOINT: e.endpoint, S3_BUCKET: e.bucket, S3_REGION: e.region, S3_ACCESS_KEY: e.accessKeyId,
      S3_SECRET_KEY: e.secretAccessKey, S3_FORCE_PATH_STYLE: 'true', S3_PREFIX: `crash-${crypto.randomBytes(4).toString('hex')}`,
    };
  }],
];

describe.each(stores)('kill -9 and restarts mid-upload on the %s store', (_name, storeEnv) => {
  let work: string;
  let source: string;
  let port: number;
  let env: Record<string, string>;
  let cliEnv: Record<string, string>;
  let server: ServerProcess;

  beforeAll(async () => {
    requireBuild();
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-crash-'));
    source = path.join(work, 'source.bin');
    fs.writeFileSync(source, crypto.randomBytes(SIZE));
    port = await freePort();
    env = { DATA_DIR: path.join(work, 'data'), ...storeEnv() };
    server = await startServerProcess(env, port);
    cliEnv = { TESSERA_SERVER: server.url, TESSERA_CONFIG_DIR: path.join(work, 'cli') };
    const signup = await runCli(['signup', '--email', `crash-${Date.now()}@example.com`, '--password', 'correct horse battery'], cliEnv).done;
    expect(signup.code).toBe(0);
  });
  afterAll(async () => {
    if (server) await killHard(server.child);
    if (env?.S3_PREFIX) await emptyRgwPrefix(env.S3_PREFIX);
    if (process.env.KEEP_CRASH_DIR) console.log(`kept ${work}`); else fs.rmSync(work, { recursive: true, force: true });
  });

  test('kill -9 of the CLI, then of the server, mid-upload: the same command resumes and the result is byte-identical', async () => {
    // 1. kill -9 the client once a few parts are in
    const first = runCli(['upload', '--fixed-parts', '--concurrency', '1', source, '/crash/file.bin'], cliEnv);
    await until(async () => partsKnown(env.DATA_DIR) >= 1, 60_000, 'a first confirmed batch');
    await killHard(first.child);
    const afterKill = partsKnown(env.DATA_DIR);
    expect(afterKill).toBeLessThan(49);

    // 2. resume, and kill -9 the server while the resumed upload runs
    const second = runCli(['upload', '--fixed-parts', '--concurrency', '1', source, '/crash/file.bin'], cliEnv);
    await until(async () => partsKnown(env.DATA_DIR) > afterKill, 60_000, 'another confirmed batch');
    await killHard(server.child);
    const secondResult = await second.done;
    expect(secondResult.code).not.toBe(0);
    server = await startServerProcess(env, port);

    // 3. the same command again finishes, sending only what is missing
    const third = await runCli(['upload', '--fixed-parts', '--concurrency', '2', source, '/crash/file.bin'], cliEnv).done;
    expect(third.stderr).toMatch(/resumed: \d+ part\(s\) already there/);
    const skipped = Number(/resumed: (\d+) part/.exec(third.stderr)![1]);
    expect(skipped).toBeGreaterThanOrEqual(afterKill);

    const back = path.join(work, 'back.bin');
    const dl = await runCli(['download', '/crash/file.bin', back], cliEnv).done;
    expect(dl.code).toBe(0);
    expect(fs.readFileSync(back).equals(fs.readFileSync(source))).toBe(true);
  });

  test('kill -9 of a download: the same command re-verifies what is on disk and fetches only the rest', async () => {
    const back = path.join(work, 'killed-download.bin');
    const sidecar = `${back}.tessera-partial.json`;
    const verified = () => {
      try {
        return (JSON.parse(fs.readFileSync(sidecar, 'utf8')).verified as number[]).length;
      } catch {
        return 0;
      }
    };
    const first = runCli(['download', '--concurrency', '1', '/crash/file.bin', back], cliEnv);
    await until(async () => verified() >= 2, 60_000, 'two verified parts on disk');
    await killHard(first.child);
    expect(fs.existsSync(back)).toBe(false);
    const again = await runCli(['download', '/crash/file.bin', back], cliEnv).done;
    expect(again.code).toBe(0);
    expect(Number(/resumed: (\d+) part/.exec(again.stderr)?.[1])).toBeGreaterThanOrEqual(2);
    expect(fs.readFileSync(back).equals(fs.readFileSync(source))).toBe(true);
    expect(fs.existsSync(sidecar)).toBe(false);
  });
});

import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type { CliContext } from './context';

/**
 * `keys rotate [--data-dir] [--generate] [--retire] [--dry-run] [--json]`: key rotation for
 * the local store's encryption at rest (server side, on the machine holding the store).
 * Every encrypted file's data key is re-wrapped by the current master key (the first of
 * ENCRYPTION_KEY, else of <DATA_DIR>/encryption-keys); no object is re-encrypted.
 * --generate (key file only) first puts a new random key at the head of the file;
 * --retire also erases the old keys' wraps from every file, then drops the old keys from the
 * file (with ENCRYPTION_KEY it says which value to keep): run it once every server runs with
 * the new key. Fails (CONFIG) for STORAGE other than
 * local or LOCAL_ENCRYPTION off; KEY_UNAVAILABLE / CORRUPT files are listed and make it fail.
 */
export function registerKeyCommands(program: Command, ctx: CliContext): void {
  const keys = program.command('keys').description('encryption at rest of the local store (server side)');
  keys
    .command('rotate')
    .description('re-wrap every stored object\'s data key with the current master key (objects are not re-encrypted)')
    .option('-d, --data-dir <dir>', 'the server\'s data directory (default: $DATA_DIR or ./data)')
    .option('--generate', 'first add a new random master key to <data-dir>/encryption-keys and make it current')
    .option('--retire', 'also erase the old keys\' wraps from every file (once every server runs with the new key), then drop them from <data-dir>/encryption-keys')
    .option('--encrypt-plaintext', 'also encrypt objects written while encryption was off (a store upgraded to encryption at rest)')
    .option('--dry-run', 'only report which master key opens how many files')
    .option('--json', 'print the report as JSON')
    .action(async (o: { dataDir?: string; generate?: boolean; retire?: boolean; encryptPlaintext?: boolean; dryRun?: boolean; json?: boolean }) => {
      const { loadConfig, ENCRYPTION_KEY_FILE } = require('../../src/server/config') as typeof import('../../src/server/config');
      const { KeyRing, masterKeyId } = require('../../src/storage/local/envelope') as typeof import('../../src/storage/local/envelope');
      const { rotateKeys } = require('../../src/storage/local/rotation') as typeof import('../../src/storage/local/rotation');
      const env = { ...ctx.io.env };
      if (o.dataDir) env.DATA_DIR = o.dataDir;
      const fromEnv = Boolean(env.ENCRYPTION_KEY);
      const dataDir = path.resolve(env.DATA_DIR ?? './data');
      const keyFile = path.join(dataDir, ENCRYPTION_KEY_FILE);
      if (o.generate && fromEnv) fail('--generate adds a key to the key file; with ENCRYPTION_KEY, put the new key first in that setting (README, "Encryption at rest")');
      if (o.generate) {
        const old = fs.existsSync(keyFile) ? fs.readFileSync(keyFile, 'utf8').split(/\s+/).filter(Boolean) : [];
        writeKeyFile(keyFile, [randomBytes(32).toString('hex'), ...old]);
      }
      const config = loadConfig(env);
      if (config.storage.kind !== 'local' || !config.storage.local.encryption) fail('keys rotate needs STORAGE=local with LOCAL_ENCRYPTION on');
      const ring = new KeyRing(config.storage.local.encryption.keys);
      const report = await rotateKeys(config.storage.local.root, ring, { dryRun: o.dryRun, retire: o.retire, encryptPlaintext: o.encryptPlaintext });
      const current = masterKeyId(ring.current.key).toString('hex');
      const others = Object.keys(report.byKey).filter((id) => id !== current);
      let retired = false;
      if (o.retire && !o.dryRun && report.failed.length === 0 && others.length === 0) {
        if (!fromEnv) writeKeyFile(keyFile, [ring.current.key.toString('hex')]);
        retired = true;
      }
      if (o.json) {
        ctx.io.stdout.write(`${JSON.stringify({ currentKey: current, ...report, retired }, null, 2)}\n`);
      } else {
        const out = ctx.io.stdout;
        out.write(`current master key ${current}${fromEnv ? ' (ENCRYPTION_KEY)' : ` (${keyFile})`}\n`);
        out.write(`${report.encrypted} encrypted files, ${report.rewrapped} re-wrapped now, ${report.erased} old wraps erased, ${report.encryptedNow} plaintext objects encrypted now, ${report.plaintextObjects} plaintext objects left\n`);
        for (const [id, n] of Object.entries(report.byKey)) out.write(`  key ${id}: ${n} files${id === current ? ' (current)' : ''}\n`);
        for (const f of report.failed) out.write(`  ${f.code}: ${f.file}\n`);
        if (retired) out.write(fromEnv ? 'old wraps erased: ENCRYPTION_KEY may now be just the first key\n' : 'old keys removed from the key file\n');
        else if (others.length === 0 && report.failed.length === 0 && ring.keys.length > 1) {
          out.write(fromEnv ? `no file needs the old keys: ENCRYPTION_KEY may now be just the first key\n` : 'no file needs the old keys: `tessera keys rotate --retire` drops them\n');
        }
      }
      if (report.failed.length) fail(`${report.failed.length} files could not be opened with the configured keys`, 'KEY_UNAVAILABLE');
    });
}

/** Writes the key file (one hex key a line, current first) atomically, mode 0600. */
function writeKeyFile(file: string, keys: string[]): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    fs.writeSync(fd, `${keys.join('\n')}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  const dir = fs.openSync(path.dirname(file), 'r');
  try {
    fs.fsyncSync(dir);
  } finally {
    fs.closeSync(dir);
  }
}

function fail(message: string, code = 'CONFIG'): never {
  throw Object.assign(new Error(message), { code });
}

#!/usr/bin/env node
'use strict';
/**
 * build.js - builds dist/ in two parts, each followed by its own stamp file: the server, CLI and
 * SDK (`tsc -p tsconfig.build.json`, stamp dist/.build-stamp) and the web app (`npm run build:web`,
 * Vite into dist/web, stamp dist/web/.build-stamp). With `--if-changed` a part is built only when
 * one of its sources is newer than its stamp (or the stamp is missing): `npm start` then starts in
 * well under a second when nothing changed.
 *
 * "Newer" compares modification times of every file and folder under a part's inputs (server:
 * src/, clients/ without clients/web, migrations/, ormconfig.ts, scripts/print-schema.ts; web:
 * clients/web/ and the SDK it bundles; both: the tsconfig files and package-lock.json); a folder's
 * time changes when an entry is added, removed or renamed, so deleted sources count too. A stamp is
 * dated from when its build started, so a file saved during a build is seen on the next start.
 * Exits with the first failing build's code (a failed build leaves its stamp as it was).
 */
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.join(__dirname, '..');
const parts = [
  {
    name: 'dist/',
    stamp: path.join(root, 'dist', '.build-stamp'),
    inputs: ['src', 'clients', 'migrations', 'ormconfig.ts', 'scripts/print-schema.ts', 'tsconfig.json', 'tsconfig.build.json', 'package-lock.json'],
    skip: new Set([path.join(root, 'clients', 'web'), path.join(root, 'node_modules')]),
    build: (tsc) => [process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')]],
  },
  {
    name: 'dist/web/',
    present: fs.existsSync(path.join(root, 'clients', 'web')), // not in a packed install
    stamp: path.join(root, 'dist', 'web', '.build-stamp'),
    inputs: ['clients/web', 'clients/sdk', 'tsconfig.json', 'package-lock.json'],
    skip: new Set([path.join(root, 'node_modules')]),
    build: () => [process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', '--silent', 'build:web']],
  },
];

/** The newest mtime (ms) of `p` and everything under it; 0 if it does not exist. */
function newest(p, skip) {
  if (skip.has(p)) return 0;
  let st;
  try {
    st = fs.lstatSync(p);
  } catch {
    return 0;
  }
  let t = st.mtimeMs;
  if (st.isDirectory()) for (const name of fs.readdirSync(p)) t = Math.max(t, newest(path.join(p, name), skip));
  return t;
}

/** Why `part` needs a build, or null when it is up to date. */
function staleReason(part) {
  let built;
  try {
    built = fs.statSync(part.stamp).mtimeMs;
  } catch {
    return 'no previous build';
  }
  for (const input of part.inputs) {
    if (newest(path.join(root, input), part.skip) > built) return `${input} changed`;
  }
  return null;
}

function main() {
  const ifChanged = process.argv.includes('--if-changed');
  const quiet = process.argv.includes('--quiet');
  let tsc;
  try {
    tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
  } catch {
    // `npm install -g .` and `npm link` link this folder without installing its dependencies
    process.stderr.write(`tessera: the dependencies are not installed; run \`npm install\` in ${root} first (it builds dist/ too)\n`);
    return 1;
  }
  for (const part of parts) {
    if (part.present === false) continue;
    if (ifChanged) {
      const why = staleReason(part);
      if (!why) continue;
      if (!quiet) process.stderr.write(`building ${part.name} (${why})\n`);
    }
    const started = new Date();
    const [cmd, args] = part.build(tsc);
    const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
    if (r.status !== 0) return r.status ?? 1;
    fs.mkdirSync(path.dirname(part.stamp), { recursive: true });
    fs.writeFileSync(part.stamp, `${started.toISOString()}\n`);
    fs.utimesSync(part.stamp, started, started);
  }
  return 0;
}

process.exitCode = main();

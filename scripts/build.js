#!/usr/bin/env node
'use strict';
/**
 * build.js - compiles the TypeScript into dist/ (`tsc -p tsconfig.build.json`) and then writes
 * dist/.build-stamp. With `--if-changed` it compiles only when a source is newer than that stamp
 * (or dist/ is missing): `npm start` then starts in well under a second when nothing changed.
 *
 * "Newer" compares modification times of every file and folder under the inputs tsconfig.build.json
 * compiles (src/, clients/ without clients/web, migrations/, ormconfig.ts, scripts/print-schema.ts)
 * plus the tsconfig files and package-lock.json; a folder's time changes when an entry is added,
 * removed or renamed, so deleted sources count too. The stamp is dated from when compilation
 * started, so a file saved during a build is seen on the next start. Exits with tsc's code.
 */
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.join(__dirname, '..');
const stamp = path.join(root, 'dist', '.build-stamp');
const inputs = ['src', 'clients', 'migrations', 'ormconfig.ts', 'scripts/print-schema.ts', 'tsconfig.json', 'tsconfig.build.json', 'package-lock.json'];
const skip = new Set([path.join(root, 'clients', 'web'), path.join(root, 'node_modules')]);

/** The newest mtime (ms) of `p` and everything under it; 0 if it does not exist. */
function newest(p) {
  if (skip.has(p)) return 0;
  let st;
  try {
    st = fs.lstatSync(p);
  } catch {
    return 0;
  }
  let t = st.mtimeMs;
  if (st.isDirectory()) for (const name of fs.readdirSync(p)) t = Math.max(t, newest(path.join(p, name)));
  return t;
}

/** Why a build is needed, or null when dist/ is up to date. */
function staleReason() {
  let built;
  try {
    built = fs.statSync(stamp).mtimeMs;
  } catch {
    return 'no previous build';
  }
  for (const input of inputs) {
    if (newest(path.join(root, input)) > built) return `${input} changed`;
  }
  return null;
}

function main() {
  const ifChanged = process.argv.includes('--if-changed');
  const quiet = process.argv.includes('--quiet');
  if (ifChanged) {
    const why = staleReason();
    if (!why) return 0;
    if (!quiet) process.stderr.write(`building dist/ (${why})\n`);
  }
  const started = new Date();
  let tsc;
  try {
    tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
  } catch {
    // `npm install -g .` and `npm link` link this folder without installing its dependencies
    process.stderr.write(`tessera: the dependencies are not installed; run \`npm install\` in ${root} first (it builds dist/ too)\n`);
    return 1;
  }
  const r = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) return r.status ?? 1;
  fs.mkdirSync(path.dirname(stamp), { recursive: true });
  fs.writeFileSync(stamp, `${started.toISOString()}\n`);
  fs.utimesSync(stamp, started, started);
  return 0;
}

process.exitCode = main();

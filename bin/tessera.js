#!/usr/bin/env node
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const entry = path.join(root, 'dist', 'clients', 'cli', 'main.js');
if (!fs.existsSync(entry)) {
  process.stderr.write(`tessera: ${entry} is missing; run \`npm install\` (or \`npm run build\`) in ${root} first\n`);
  process.exit(1);
}
try {
  require.resolve('commander', { paths: [root] });
} catch {
  // a linked checkout (`npm install -g .` / `npm link`) whose dependencies were never installed
  process.stderr.write(`tessera: the dependencies are not installed; run \`npm install\` in ${root} first\n`);
  process.exit(1);
}
require(entry)
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  });

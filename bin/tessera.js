#!/usr/bin/env node
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const entry = path.join(__dirname, '..', 'dist', 'clients', 'cli', 'main.js');
if (!fs.existsSync(entry)) {
  process.stderr.write(`tessera: ${entry} is missing; run \`npm run build\` first\n`);
  process.exit(1);
}
require(entry)
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  });

// Reports the web app's bundle size (dist/web), raw and gzipped, after `vite build`.
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');
const dir = path.join(__dirname, '..', 'dist', 'web');
let raw = 0;
let gz = 0;
const walk = (d) => {
  for (const e of fs.readdirSync(d, { withFileTypes: true })) {
    const p = path.join(d, e.name);
    if (e.isDirectory()) walk(p);
    else {
      const b = fs.readFileSync(p);
      raw += b.length;
      gz += zlib.gzipSync(b).length;
    }
  }
};
walk(dir);
console.log(`web app: ${(raw / 1024).toFixed(1)} KiB in dist/web (${(gz / 1024).toFixed(1)} KiB gzipped)`);

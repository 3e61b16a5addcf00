/** Builds the browser app into dist/web (served by the Tessera server at /). */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = path.dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  root: here,
  base: '/',
  build: {
    outDir: path.resolve(here, '../../dist/web'),
    emptyOutDir: true,
    reportCompressedSize: true,
    chunkSizeWarningLimit: 1024,
  },
  worker: { format: 'es' },
  oxc: { jsx: { runtime: 'automatic' } },
});

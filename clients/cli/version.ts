import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The version in Tessera's package.json, found by walking up from this file (the same from
 * clients/cli in the sources and dist/clients/cli when built); "unknown" if there is none.
 */
export function cliVersion(): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if ((pkg.name === 'tessera-server' || pkg.name === 'tessera') && pkg.version) return pkg.version;
    } catch {
      // no (readable) package.json here: keep going up
    }
    if (dirname(dir) === dir) return 'unknown';
  }
}

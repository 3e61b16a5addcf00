import fs from 'node:fs';
import path from 'node:path';
import semver from 'semver';

const ROOT = path.join(__dirname, '..', '..');

/** Every package.json under node_modules (nested ones too), with its engines.node. */
function installed(): Array<{ name: string; version: string; node?: string }> {
  const out: Array<{ name: string; version: string; node?: string }> = [];
  const walk = (dir: string) => {
    let entries: fs.Dirent[];
    try { entries = fs.readdirSync(dir, { withFileTypes: true }); } catch { return; }
    for (const e of entries) {
      if (!e.isDirectory() || e.name.startsWith('.')) continue;
      const p = path.join(dir, e.name);
      if (e.name.startsWith('@')) { walk(p); continue; }
      try {
        const pkg = JSON.parse(fs.readFileSync(path.join(p, 'package.json'), 'utf8'));
        out.push({ name: pkg.name ?? e.name, version: pkg.version, node: pkg.engines?.node });
      } catch { /* not a package */ }
      walk(path.join(p, 'node_modules'));
    }
  };
  walk(path.join(ROOT, 'node_modules'));
  return out;
}

/**
 * The Node versions Tessera states (package.json engines, the README) are ones every installed
 * dependency accepts: the lowest version of each range Tessera names satisfies each dependency's
 * engines.node (a dependency wanting Node >= 22.15 while we say 20 fails here, naming it).
 */
describe('engines', () => {
  it('every dependency accepts the lowest Node of each range package.json states', () => {
    const ours: string = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).engines.node;
    const lows = ours.split('||').map((r) => semver.minVersion(r.trim())!.version);
    expect(lows).toContain('20.19.0');
    const refused: string[] = [];
    const pkgs = installed();
    expect(pkgs.length).toBeGreaterThan(100);
    for (const p of pkgs) {
      for (const v of lows) if (p.node && !semver.satisfies(v, p.node)) refused.push(`${p.name}@${p.version} wants node ${p.node}, not ${v}`);
    }
    expect(refused).toEqual([]);
    expect(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8')).toContain('Node.js 20.19+ (or 22.13+, or 24.11+');
  });
});

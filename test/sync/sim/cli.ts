/**
 * `npm run simulate -- [options]`: runs the sync simulation outside jest (compiled to dist/ by
 * test/sync/sim/tsconfig.json). Options:
 *   --seeds 1-1000 | 42      seeds to run (default 1-100; SIM_SEED=N runs one)
 *   --ops N                  ops per seed (default 12)
 *   --devices N              devices 1-3 (default 2)
 *   --classes a,b            op classes (default all: files,moves,folders,case,swap,server,offline,crash,race)
 *   --db sqlite|mariadb      the server's database (default sqlite)
 *   --minimize N             reruns allowed to minimize a failing seed (default 60; 0: none)
 *   --scenarios              run the named regression scenarios instead
 *   --stop                   stop at the first failing seed
 * SIM_OPS='[...]' replays a printed op list instead of seeds.
 * Exit code 1 when anything failed.
 */
import { startTestServer } from '../../helpers/server';
import { OP_CLASSES, parseClasses, type Op } from './ops';
import { devicesOf, failureReport, minimize, runOps, runSeed, type SeedOptions } from './run';
import { SCENARIOS, KNOWN_FAILING } from './scenarios';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function seedRange(s: string): [number, number] {
  const [a, b] = s.split('-').map((x) => Number.parseInt(x, 10));
  return [a, Number.isFinite(b) ? b : a];
}

async function main(): Promise<number> {
  const db = (arg('db') ?? 'sqlite') as 'sqlite' | 'mariadb';
  const server = await startTestServer({ db });
  const log = (s: string) => process.stdout.write(s + '\n');
  let failed = 0;
  try {
    if (process.env.SIM_OPS) {
      const ops = JSON.parse(process.env.SIM_OPS) as Op[];
      const r = await runOps(server.url, ops, devicesOf(ops));
      log(r.failures.length ? failureReport('replayed ops', r) : `replayed ${ops.length} ops: all invariants hold (${r.cycles} cycles)`);
      return r.failures.length ? 1 : 0;
    }
    if (process.argv.includes('--scenarios')) {
      for (const s of SCENARIOS) {
        const r = await runOps(server.url, s.ops, devicesOf(s.ops));
        const known = KNOWN_FAILING[s.name];
        log(`${r.failures.length ? 'FAIL' : 'ok  '} ${s.name}${known ? ` (known failing: ${known})` : ''}`);
        if (r.failures.length) log(failureReport(`scenario ${s.name}`, r));
        if (r.failures.length) failed++;
      }
      return failed ? 1 : 0;
    }
    const o: SeedOptions = {
      devices: Number(arg('devices') ?? 2),
      ops: Number(arg('ops') ?? 12),
      classes: arg('classes') ? parseClasses(arg('classes')!) : OP_CLASSES,
    };
    const [from, to] = process.env.SIM_SEED ? seedRange(process.env.SIM_SEED) : seedRange(arg('seeds') ?? '1-100');
    const budget = Number(arg('minimize') ?? 60);
    const t0 = Date.now();
    for (let seed = from; seed <= to; seed++) {
      const r = await runSeed(server.url, seed, o);
      if (r.failures.length) {
        failed++;
        const min = budget > 0 ? await minimize(server.url, r.ops, o.devices, budget) : undefined;
        log(failureReport(`seed ${seed} (--devices ${o.devices} --ops ${o.ops} --classes ${o.classes.join(',')} --db ${db})`, r, min));
        log(`  replay the seed: SIM_SEED=${seed} npm run simulate -- --devices ${o.devices} --ops ${o.ops} --classes ${o.classes.join(',')} --db ${db}`);
        if (process.argv.includes('--stop')) break;
      }
      if ((seed - from + 1) % 50 === 0) log(`${seed - from + 1} seeds, ${failed} failed, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    }
    log(`seeds ${from}-${to}: ${failed} failed, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return failed ? 1 : 0;
  } finally {
    await server.stop();
  }
}

main().then((code) => process.exit(code), (e) => {
  console.error(e);
  process.exit(2);
});

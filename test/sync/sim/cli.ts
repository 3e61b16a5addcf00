/**
 * `npm run simulate -- [options]`: runs the sync simulation outside jest (compiled to dist/ by
 * test/sync/sim/tsconfig.json). Options:
 *   --seeds 1-1000 | 42 | 3,9,20-25   seeds to run (default 1-100; SIM_SEED=N runs one)
 *   --ops N                  ops per seed (default 12)
 *   --devices N              devices 1-3 (default 2)
 *   --classes a,b            op classes (default all: files,moves,folders,case,swap,server,offline,crash,race)
 *   --db sqlite|mariadb      the server's database (default sqlite)
 *   --minimize N             reruns allowed to minimize a failing seed (default 60; 0: none)
 *   --strict-errors          also fail on action errors other than CONFLICT / CHANGED / NOT_FOUND
 *   --scenarios              run the named regression scenarios instead
 *   --parallel N             seeds run at once (default 3)
 *   --report N               failing seeds minimized and printed in full (default 5)
 * SIM_OPS='[...]' replays a printed op list instead of seeds (SIM_ORDER=N: its transfer order seed, default 0).
 * Failing seeds that no known defect explains are minimized and printed in full (--report of them).
 * Exit code 1 when anything failed.
 */
import { startTestServer } from '../../helpers/server';
import { OP_CLASSES, parseClasses, type Op } from './ops';
import { devicesOf, failureReport, minimize, runOps, runSeeds, scenarioDevices, type RunResult, type SeedOptions } from './run';
import { SCENARIOS, KNOWN_FAILING, knownDefect } from './scenarios';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** "1-100", "42" or "3,9,20-25" -> the seeds. */
function seedList(s: string): number[] {
  return s.split(',').flatMap((part) => {
    const [a, b] = part.split('-').map((x) => Number.parseInt(x, 10));
    const to = Number.isFinite(b) ? b : a;
    return Array.from({ length: Math.max(0, to - a + 1) }, (_, i) => a + i);
  });
}

async function main(): Promise<number> {
  const db = (arg('db') ?? 'sqlite') as 'sqlite' | 'mariadb';
  const server = await startTestServer({ db });
  const log = (s: string) => process.stdout.write(s + '\n');
  let failed = 0;
  try {
    if (process.env.SIM_OPS) {
      const ops = JSON.parse(process.env.SIM_OPS) as Op[];
      const r = await runOps(server.url, ops, devicesOf(ops), { strictErrors: process.argv.includes('--strict-errors'), order: Number(process.env.SIM_ORDER ?? 0) });
      log(r.failures.length ? failureReport('replayed ops', r) : `replayed ${ops.length} ops: all invariants hold (${r.cycles} cycles)`);
      return r.failures.length ? 1 : 0;
    }
    if (process.argv.includes('--scenarios')) {
      for (const s of SCENARIOS) {
        const r = await runOps(server.url, s.ops, scenarioDevices(s.ops), { strictErrors: s.strictErrors, order: s.order });
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
      strictErrors: process.argv.includes('--strict-errors'),
    };
    const seeds = seedList(process.env.SIM_SEED ?? arg('seeds') ?? '1-100');
    const budget = Number(arg('minimize') ?? 60);
    const t0 = Date.now();
    let done = 0;
    let known = 0;
    const failing: RunResult[] = [];
    await runSeeds(server.url, seeds, o, Number(arg('parallel') ?? 3), (seed, r) => {
      const why = knownDefect(r.failures, r.actionErrors);
      if (r.failures.length) {
        failed++;
        if (why) known++;
        else failing.push(r);
        log(`seed ${seed} FAILED${why ? ` (known defect: ${why})` : ''}: ${r.failures.map((f) => f.split('\n').slice(0, 2).map((l) => l.trim()).join(' / ')).join(' | ')}`);
      }
      if (++done % 50 === 0) log(`${done} seeds, ${failed} failed, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    });
    for (const r of failing.slice(0, Number(arg('report') ?? 5))) {
      const min = budget > 0 ? await minimize(server.url, r.ops, o.devices, budget, undefined, o.strictErrors, r.order) : undefined;
      log(failureReport(`seed ${r.seed} (--devices ${o.devices} --ops ${o.ops} --classes ${o.classes.join(',')} --db ${db})`, r, min));
      log(`  replay the seed: SIM_SEED=${r.seed} npm run simulate -- --devices ${o.devices} --ops ${o.ops} --classes ${o.classes.join(',')} --db ${db}`);
    }
    log(`${seeds.length} seeds: ${failed} failed (${known} on a known defect: see KNOWN_FAILURE_SIGNATURES), ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return failed ? 1 : 0;
  } finally {
    await server.stop();
  }
}

main().then((code) => process.exit(code), (e) => {
  console.error(e);
  process.exit(2);
});

'use strict';
/**
 * Preloaded (`node -r`) into a real `tessera sync <folder> --once` process by the simulation's
 * `kill` op (world.ts): the process kills itself with SIGKILL just before its SIM_KILL_AT-th
 * call to the server (a 1-based number, or the first call of the SDK method of that name), so a
 * kill -9 mid-cycle strikes at the same point on every replay. It also gives the engine the
 * simulation's transfer order (SIM_ORDER; the twin of seededTransferOrder in hook.ts), so the
 * calls come in one order. Nothing else changes: the CLI, engine, server and files are real.
 */
const path = require('node:path');

const dist = path.join(__dirname, '..', '..', '..', 'dist');
const { TesseraClient } = require(path.join(dist, 'clients', 'sdk', 'client.js'));
const { SyncEngine } = require(path.join(dist, 'clients', 'sync', 'engine.js'));

const SERVER_CALLS = ['me', 'devices', 'fileByPath', 'listFolder', 'createFolder', 'moveFile', 'deleteFile', 'uploadPlan',
  'latestCursor', 'changes', 'upload', 'download'];
const at = /^\d+$/.test(process.env.SIM_KILL_AT ?? '') ? Number(process.env.SIM_KILL_AT) : process.env.SIM_KILL_AT;
let count = 0;
for (const name of SERVER_CALLS) {
  const original = TesseraClient.prototype[name];
  if (typeof original !== 'function') continue;
  TesseraClient.prototype[name] = function (...args) {
    count++;
    if (typeof at === 'number' ? count >= at : at === name) {
      process.kill(process.pid, 'SIGKILL');
      return new Promise(() => undefined);
    }
    return original.apply(this, args);
  };
}

const seed = Number(process.env.SIM_ORDER ?? 0);
const fnv1a = (s) => {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
};
const key = (a) => fnv1a(`${seed}:${a.type}:${'from' in a ? a.from : ''}:${a.path}`);
const open = SyncEngine.open.bind(SyncEngine);
SyncEngine.open = (opts) => open({ ...opts, transferOrder: (ts) => ts.map((a) => [key(a), a]).sort((x, y) => x[0] - y[0]).map(([, a]) => a) });

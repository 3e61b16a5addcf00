import crypto from 'node:crypto';
import { Change } from '../../src/entities';
import { testDatabases } from '../helpers/db';
import { gql, signUp, uploadBytes } from '../helpers/gql';
import { startTestServer, type TestServer } from '../helpers/server';

const WRITERS = 8;
const OPS_PER_WRITER = 12;
const CHANGES = 'query($c: String) { changes(cursor: $c, limit: 7) { cursor hasMore changes { kind path fileId } } }';

// The journal's promise: a reader following `changes(cursor)` while many writers commit at once
// sees every change exactly once, in journal order (no position skipped by an out-of-order commit).
describe.each(testDatabases)('journal is gapless under concurrent writers on %s', (db) => {
  let srv: TestServer;
  beforeAll(async () => { srv = await startTestServer({ db }); });
  afterAll(async () => { await srv?.stop(); });

  test(`${WRITERS} concurrent writers, one polling reader: every change exactly once, in order`, async () => {
    const alice = await signUp(srv.url);
    const seen: { kind: string; path: string; fileId: string }[] = [];
    let cursor: string | null = null;
    let writing = true;
    let polls = 0;
    const readOnce = async () => {
      const r = await gql(srv.url, CHANGES, { c: cursor }, alice.token);
      if (r.errors) throw new Error(JSON.stringify(r.errors));
      polls++;
      seen.push(...r.data.changes.changes);
      cursor = r.data.changes.cursor;
      return r.data.changes.hasMore as boolean;
    };
    const reader = (async () => {
      while (writing) await readOnce();
      while (await readOnce()) { /* drain */ }
    })();

    const expected: string[] = [];
    const writers = Array.from({ length: WRITERS }, async (_, w) => {
      for (let i = 0; i < OPS_PER_WRITER; i++) {
        if (i % 2 === 0) {
          const path = `/w${w}/folder-${i}`;
          const r = await gql(srv.url, 'mutation($p: String!) { createFolder(path: $p) { id } }', { p: path }, alice.token);
          if (r.errors) throw new Error(JSON.stringify(r.errors));
          expected.push(path);
        } else {
          const path = `/w${w}/file-${i}.bin`;
          await uploadBytes(srv.url, alice.token, path, crypto.randomBytes(64 + i));
          expected.push(path);
        }
      }
    });
    try {
      await Promise.all(writers);
    } finally {
      writing = false;
      await reader;
    }

    // every path the writers made appears exactly once (plus one CREATED per writer folder)
    const paths = seen.map((c) => c.path);
    expect(new Set(paths).size).toBe(paths.length);
    expect(paths.sort()).toEqual([...expected, ...Array.from({ length: WRITERS }, (_, w) => `/w${w}`)].sort());
    expect(seen.every((c) => c.kind === 'CREATED')).toBe(true);
    expect(polls).toBeGreaterThan(3);

    // and the reader's order is the journal's order
    const rows = await srv.app.services.ds.getRepository(Change).find({ where: { namespaceId: alice.userId }, order: { seq: 'ASC' } });
    expect(rows.map((r) => r.seq)).toEqual(rows.map((_, i) => i + 1));
    const readerOrder = [];
    for (const c of seen) readerOrder.push(c.fileId);
    expect(readerOrder).toEqual(rows.map((r) => r.fileId));
  }, 120_000);

  test(`${WRITERS} writers straight at the service (no HTTP to space them out): no lost or failed transaction`, async () => {
    const bob = await signUp(srv.url);
    const results = await Promise.allSettled(Array.from({ length: WRITERS * 6 }, (_, i) =>
      srv.app.services.files.createFolder(bob.userId, null, `/d${i % WRITERS}/x${i}`)));
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    const page = await srv.app.services.journal.read([bob.userId], null, 1000);
    expect(page.changes).toHaveLength(WRITERS * 6 + WRITERS);
    expect(page.changes.map((c) => c.change.seq)).toEqual(page.changes.map((_, i) => i + 1));
  }, 60_000);
});

import crypto from 'node:crypto';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { createSchema } from '../../src/resolvers';
import { testDatabases } from '../helpers/db';
import { SESSION_FIELDS, beginInput, gql, prepare, putPart, signUp, uploadBytes, type GqlResult } from '../helpers/gql';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * The authorisation matrix: EVERY query, mutation and subscription of the schema, tried as the
 * owner, an editor and a viewer of a shared folder, a stranger and an anonymous caller, against
 * the owner's files, folders, upload sessions, shares and links. A schema operation without a
 * row fails the build: to add one, add a row to ROWS below (an operation, a setup that makes a
 * fresh fixture, and the expected outcome per actor).
 *
 * Outcomes: 'ok' (no error, non-null result), 'null' (no error, null result), or an error code.
 */
type Actor = 'owner' | 'editor' | 'viewer' | 'stranger' | 'anonymous';
type Outcome = 'ok' | 'null' | 'UNAUTHENTICATED' | 'FORBIDDEN' | 'NOT_FOUND' | 'BAD_USER_INPUT';
type Expect = Record<Actor, Outcome>;
interface Fixture { [k: string]: any }
interface Row {
  /** The GraphQL document; variables come from `vars(fixture)`. */
  doc: string;
  setup?: (f: Fx) => Promise<Fixture>;
  vars?: (fx: Fixture, f: Fx) => Record<string, unknown>;
  /** 'fresh': run as a new device of the actor (an operation that signs its caller out). */
  as?: 'fresh';
  expect: Expect;
}
interface Fx {
  url: string;
  owner: { token: string; userId: string; email: string };
  outsider: { token: string; userId: string; email: string };
  sharedFolderId: string;
  /** A fresh file (and its folder) inside the shared folder. */
  file(): Promise<{ fileId: string; folderId: string; n: number }>;
  /** A fresh ACTIVE upload session of the owner, its part already PUT. */
  session(): Promise<{ sessionId: string }>;
  /** A new device of the actor (signIn again): its id and token; none for anonymous. */
  device(actor: Actor): Promise<{ deviceId?: string; token?: string }>;
}

const ALL_OK: Expect = { owner: 'ok', editor: 'ok', viewer: 'ok', stranger: 'ok', anonymous: 'UNAUTHENTICATED' };
const READ: Expect = { owner: 'ok', editor: 'ok', viewer: 'ok', stranger: 'NOT_FOUND', anonymous: 'UNAUTHENTICATED' };
const READ_OR_NULL: Expect = { ...READ, stranger: 'null' };
const WRITE: Expect = { owner: 'ok', editor: 'ok', viewer: 'FORBIDDEN', stranger: 'NOT_FOUND', anonymous: 'UNAUTHENTICATED' };
const OWNER_SHARES: Expect = { owner: 'ok', editor: 'FORBIDDEN', viewer: 'FORBIDDEN', stranger: 'NOT_FOUND', anonymous: 'UNAUTHENTICATED' };
const OWNER_ONLY: Expect = { owner: 'ok', editor: 'NOT_FOUND', viewer: 'NOT_FOUND', stranger: 'NOT_FOUND', anonymous: 'UNAUTHENTICATED' };
const OWNER_ONLY_NULL: Expect = { owner: 'ok', editor: 'null', viewer: 'null', stranger: 'null', anonymous: 'UNAUTHENTICATED' };
const PUBLIC: Expect = { owner: 'ok', editor: 'ok', viewer: 'ok', stranger: 'ok', anonymous: 'ok' };

const file = (f: Fx) => f.file();
const session = (f: Fx) => f.session();
let emails = 0;

const ROWS: Record<string, Row> = {
  // --- queries
  'Query.me': { doc: '{ me { id } }', expect: ALL_OK },
  // everyone may ask; each sees only their own sessions (test/api/active-uploads.test.ts)
  'Query.activeUploads': { doc: '{ activeUploads { id } }', setup: session, expect: ALL_OK },
  'Query.file': { doc: 'query($id: ID!) { file(id: $id) { id downloadUrl } }', setup: file, vars: (x) => ({ id: x.fileId }), expect: READ_OR_NULL },
  'Query.fileByPath': { doc: 'query($p: String!) { fileByPath(path: $p) { id } }', setup: file, vars: (x) => ({ p: `/shared/c${x.n}/f.bin` }), expect: READ_OR_NULL }, // members see it through their mount at /shared
  'Query.listFolder': { doc: 'query($p: String!) { listFolder(path: $p) { edges { cursor } } }', setup: file, vars: (x) => ({ p: `/shared/c${x.n}` }), expect: READ },
  'Query.listFolderById': { doc: 'query($id: ID!) { listFolderById(id: $id) { edges { cursor } } }', setup: file, vars: (x) => ({ id: x.folderId }), expect: READ },
  'Query.sharedWithMe': { doc: '{ sharedWithMe { edges { cursor } } }', expect: ALL_OK },
  'Query.uploadPlan': { doc: '{ uploadPlan(size: "1000") { partSize } }', expect: ALL_OK },
  'Query.uploadSession': { doc: 'query($id: ID!) { uploadSession(id: $id) { id } }', setup: session, vars: (x) => ({ id: x.sessionId }), expect: OWNER_ONLY_NULL },
  'Query.changes': { doc: '{ changes { cursor } }', expect: ALL_OK },
  'Query.latestCursor': { doc: '{ latestCursor }', expect: ALL_OK },
  'Query.devices': { doc: '{ devices { id current } }', expect: ALL_OK },

  // --- mutations
  'Mutation.signUp': { doc: 'mutation($e: String!) { signUp(email: $e, password: "correct horse battery") { token } }', vars: () => ({ e: `m${Date.now()}-${emails++}@example.com` }), expect: PUBLIC },
  'Mutation.signIn': { doc: 'mutation($e: String!) { signIn(email: $e, password: "correct horse battery") { token } }', vars: (_x, f) => ({ e: f.outsider.email }), expect: PUBLIC },
  // a device is its user's alone: another's (even a sharer's) is NOT_FOUND
  'Mutation.revokeDevice': { doc: 'mutation($d: ID!) { revokeDevice(id: $d) }', setup: (f) => f.device('owner'), vars: (x) => ({ d: x.deviceId }), expect: OWNER_ONLY },
  'Mutation.signOut': { doc: 'mutation { signOut }', as: 'fresh', expect: ALL_OK },
  'Mutation.createFolder': { doc: 'mutation($f: ID!) { createFolder(path: "/new", folderId: $f) { id } }', setup: file, vars: (x) => ({ f: x.folderId }), expect: WRITE },
  'Mutation.beginUpload': {
    doc: 'mutation($i: BeginUploadInput!) { beginUpload(input: $i) { id } }', setup: file,
    vars: (x) => ({ i: beginInput('/up.bin', prepare(crypto.randomBytes(10), 8 * 1024 * 1024), { folderId: x.folderId }) }), expect: WRITE,
  },
  // the batch calls answer per item: the outcome is the item's error code (see outcome())
  'Mutation.beginUploads': {
    doc: 'mutation($i: [BeginUploadInput!]!) { beginUploads(inputs: $i) { index session { id } error { code } } }', setup: file,
    vars: (x) => ({ i: [beginInput('/up.bin', prepare(crypto.randomBytes(10), 8 * 1024 * 1024), { folderId: x.folderId })] }), expect: WRITE,
  },
  'Mutation.completeUploads': {
    doc: 'mutation($s: ID!) { completeUploads(uploads: [{ sessionId: $s }]) { index file { id } error { code } } }', setup: session, vars: (x) => ({ s: x.sessionId }), expect: OWNER_ONLY,
  },
  'Mutation.confirmParts': { doc: 'mutation($s: ID!) { confirmParts(sessionId: $s, parts: []) { id } }', setup: session, vars: (x) => ({ s: x.sessionId }), expect: OWNER_ONLY },
  'Mutation.refreshPartUrls': { doc: 'mutation($s: ID!) { refreshPartUrls(sessionId: $s, partNumbers: [1]) { partNumber } }', setup: session, vars: (x) => ({ s: x.sessionId }), expect: OWNER_ONLY },
  'Mutation.copyParts': { doc: 'mutation($s: ID!) { copyParts(sessionId: $s, partNumbers: [1]) { partNumber } }', setup: session, vars: (x) => ({ s: x.sessionId }), expect: OWNER_ONLY },
  'Mutation.completeUpload': { doc: 'mutation($s: ID!) { completeUpload(sessionId: $s) { id } }', setup: session, vars: (x) => ({ s: x.sessionId }), expect: OWNER_ONLY },
  'Mutation.abortUpload': { doc: 'mutation($s: ID!) { abortUpload(sessionId: $s) }', setup: session, vars: (x) => ({ s: x.sessionId }), expect: OWNER_ONLY },
  'Mutation.moveFile': { doc: 'mutation($id: ID!, $to: String!) { moveFile(id: $id, toPath: $to) { id } }', setup: file, vars: (x) => ({ id: x.fileId, to: `/shared/c${x.n}/moved.bin` }), expect: WRITE },
  'Mutation.deleteFile': { doc: 'mutation($id: ID!) { deleteFile(id: $id) { id } }', setup: file, vars: (x) => ({ id: x.fileId }), expect: WRITE },
  'Mutation.shareFile': { doc: 'mutation($id: ID!, $e: String!) { shareFile(fileId: $id, email: $e, role: VIEWER) { id } }', setup: file, vars: (x, f) => ({ id: x.fileId, e: f.outsider.email }), expect: OWNER_SHARES },
  'Mutation.unshare': {
    doc: 'mutation($s: ID!) { unshare(shareId: $s) }',
    setup: async (f) => {
      const x = await f.file();
      const r = await gql(f.url, 'mutation($id: ID!, $e: String!) { shareFile(fileId: $id, email: $e, role: VIEWER) { id } }', { id: x.fileId, e: f.outsider.email }, f.owner.token);
      return { shareId: r.data.shareFile.id };
    },
    vars: (x) => ({ s: x.shareId }), expect: OWNER_ONLY,
  },
  'Mutation.createShareLink': { doc: 'mutation($id: ID!) { createShareLink(fileId: $id) { url } }', setup: file, vars: (x) => ({ id: x.fileId }), expect: OWNER_SHARES },
  'Mutation.revokeShareLink': {
    doc: 'mutation($l: ID!) { revokeShareLink(id: $l) }',
    setup: async (f) => {
      const x = await f.file();
      const r = await gql(f.url, 'mutation($id: ID!) { createShareLink(fileId: $id) { id } }', { id: x.fileId }, f.owner.token);
      return { linkId: r.data.createShareLink.id };
    },
    vars: (x) => ({ l: x.linkId }), expect: OWNER_ONLY,
  },

  // --- revisions and trash (the trash is the caller's own; restoring from it is the owner's)
  'Query.trash': { doc: '{ trash { edges { cursor } } }', expect: ALL_OK },
  'Mutation.emptyTrash': { doc: 'mutation { emptyTrash }', expect: ALL_OK },
  'Mutation.restoreRevision': {
    doc: 'mutation($id: ID!) { restoreRevision(fileId: $id, revision: 1) { revision } }',
    setup: async (f) => {
      const x = await f.file();
      await uploadBytes(f.url, f.owner.token, `/shared/c${x.n}/f.bin`, crypto.randomBytes(32));
      return x;
    },
    vars: (x) => ({ id: x.fileId }), expect: WRITE,
  },
  'Mutation.restoreFile': {
    doc: 'mutation($id: ID!) { restoreFile(id: $id) { id } }',
    setup: async (f) => {
      const x = await f.file();
      await gql(f.url, 'mutation($id: ID!) { deleteFile(id: $id) { id } }', { id: x.fileId }, f.owner.token);
      return x;
    },
    vars: (x) => ({ id: x.fileId }), expect: OWNER_ONLY,
  },

  // --- subscriptions (over graphql-ws; 'ok' = accepted without an error)
  'Subscription.changes': { doc: 'subscription { changes { cursor } }', expect: ALL_OK },
  'Subscription.activeUploads': { doc: 'subscription { activeUploads { id } }', expect: ALL_OK },
  'Subscription.uploadProgress': { doc: 'subscription($s: ID!) { uploadProgress(sessionId: $s) { id } }', setup: session, vars: (x) => ({ s: x.sessionId }), expect: OWNER_ONLY },
};

/**
 * Paths through a member's mount (issue 14): the shared folder `/shared` is mounted at `/shared`
 * in the editor's and the viewer's trees, so `/shared/c<n>/...` reaches the owner's files for
 * them, while for the stranger it is a path of their own (empty) tree. Outcomes also say WHOSE
 * tree an answer is in: 'owner' (the owner's), 'own' (the caller's own), 'null', or a code.
 * Nothing outside the shared subtree is reachable.
 */
type MountOutcome = 'owner' | 'own' | 'null' | 'clean' | 'UNAUTHENTICATED' | 'FORBIDDEN' | 'NOT_FOUND' | 'BAD_USER_INPUT';
interface MountRow { doc: string; vars: (x: Fixture) => Record<string, unknown>; expect: Record<Actor, MountOutcome> }
const MOUNT_ROWS: Record<string, MountRow> = {
  'fileByPath inside the mount': {
    doc: 'query($p: String!) { fileByPath(path: $p) { owner { id } } }', vars: (x) => ({ p: `/shared/c${x.n}/f.bin` }),
    expect: { owner: 'owner', editor: 'owner', viewer: 'owner', stranger: 'null', anonymous: 'UNAUTHENTICATED' },
  },
  'fileByPath outside the shared subtree': {
    doc: 'query($p: String!) { fileByPath(path: $p) { owner { id } } }', vars: () => ({ p: '/seed.bin' }),
    expect: { owner: 'owner', editor: 'null', viewer: 'null', stranger: 'null', anonymous: 'UNAUTHENTICATED' },
  },
  'listFolder inside the mount': {
    doc: 'query($p: String!) { listFolder(path: $p) { edges { node { owner { id } } } } }', vars: (x) => ({ p: `/shared/c${x.n}` }),
    expect: { owner: 'owner', editor: 'owner', viewer: 'owner', stranger: 'NOT_FOUND', anonymous: 'UNAUTHENTICATED' },
  },
  'listFolder of the root shows only the mount of the owner': {
    doc: '{ listFolder(path: "/") { edges { node { name path owner { id } } } } }', vars: () => ({}),
    expect: { owner: 'owner', editor: 'clean', viewer: 'clean', stranger: 'clean', anonymous: 'UNAUTHENTICATED' },
  },
  'createFolder by a path inside the mount': {
    doc: 'mutation($p: String!) { createFolder(path: $p) { owner { id } } }', vars: (x) => ({ p: `/shared/c${x.n}/made` }),
    expect: { owner: 'owner', editor: 'owner', viewer: 'FORBIDDEN', stranger: 'own', anonymous: 'UNAUTHENTICATED' },
  },
  'beginUpload by a path inside the mount': {
    doc: `mutation($i: BeginUploadInput!) { beginUpload(input: $i) { path ${SESSION_FIELDS} } }`, vars: (x) => ({ i: beginInput(`/shared/c${x.n}/up.bin`, prepare(Buffer.from(`u${x.n}`), 8 * 1024 * 1024)) }),
    expect: { owner: 'owner', editor: 'owner', viewer: 'FORBIDDEN', stranger: 'own', anonymous: 'UNAUTHENTICATED' },
  },
  'moveFile out of the mount into the caller tree': {
    doc: 'mutation($id: ID!, $to: String!) { moveFile(id: $id, toPath: $to) { owner { id } } }', vars: (x) => ({ id: x.fileId, to: `/out${x.n}.bin` }),
    expect: { owner: 'owner', editor: 'BAD_USER_INPUT', viewer: 'BAD_USER_INPUT', stranger: 'NOT_FOUND', anonymous: 'UNAUTHENTICATED' },
  },
};

test('every operation of the schema has a row in the authorisation matrix (and no row is stale)', async () => {
  const schema = await createSchema();
  const ops = (['Query', 'Mutation', 'Subscription'] as const).flatMap((t) => {
    const type = t === 'Query' ? schema.getQueryType() : t === 'Mutation' ? schema.getMutationType() : schema.getSubscriptionType();
    return Object.keys(type?.getFields() ?? {}).map((name) => `${t}.${name}`);
  });
  expect(ops.filter((op) => !ROWS[op])).toEqual([]);
  expect(Object.keys(ROWS).filter((op) => !ops.includes(op))).toEqual([]);
});

describe.each(testDatabases)('authorisation matrix on %s', (db) => {
  let srv: TestServer;
  let fx: Fx;
  const tokens = {} as Record<Actor, string | undefined>;
  const ids = {} as Record<Actor, string | undefined>;
  beforeAll(async () => {
    srv = await startTestServer({ db });
    const [owner, editor, viewer, stranger, outsider] = [await signUp(srv.url), await signUp(srv.url), await signUp(srv.url), await signUp(srv.url), await signUp(srv.url)];
    Object.assign(tokens, { owner: owner.token, editor: editor.token, viewer: viewer.token, stranger: stranger.token, anonymous: undefined });
    Object.assign(ids, { owner: owner.userId, editor: editor.userId, viewer: viewer.userId, stranger: stranger.userId, anonymous: undefined });
    const emailOf: Record<Actor, string | undefined> = { owner: owner.email, editor: editor.email, viewer: viewer.email, stranger: stranger.email, anonymous: undefined };
    const seed = crypto.randomBytes(64);
    await uploadBytes(srv.url, owner.token, '/seed.bin', seed);
    const seedPrep = prepare(seed, 8 * 1024 * 1024);
    const shared = (await gql(srv.url, 'mutation { createFolder(path: "/shared") { id } }', {}, owner.token)).data.createFolder;
    for (const [who, role] of [[editor, 'EDITOR'], [viewer, 'VIEWER']] as const) {
      const r = await gql(srv.url, 'mutation($id: ID!, $e: String!, $r: ShareRole!) { shareFile(fileId: $id, email: $e, role: $r) { id } }', { id: shared.id, e: who.email, r: role }, owner.token);
      if (r.errors) throw new Error(JSON.stringify(r.errors));
    }
    let n = 0;
    fx = {
      url: srv.url, owner, outsider, sharedFolderId: shared.id,
      async file() {
        const i = n++;
        const r = await gql(srv.url, 'mutation($i: BeginUploadInput!) { beginUpload(input: $i) { file { id } } }', { i: beginInput(`/shared/c${i}/f.bin`, seedPrep) }, owner.token);
        const folder = await gql(srv.url, 'query($p: String!) { fileByPath(path: $p) { id } }', { p: `/shared/c${i}` }, owner.token);
        return { fileId: r.data.beginUpload.file.id, folderId: folder.data.fileByPath.id, n: i };
      },
      async session() {
        const p = prepare(crypto.randomBytes(20), 8 * 1024 * 1024);
        const r = await gql(srv.url, `mutation($i: BeginUploadInput!) { beginUpload(input: $i) { ${SESSION_FIELDS} } }`, { i: beginInput(`/sessions/s${n++}.bin`, p) }, owner.token);
        await putPart(srv.url, r.data.beginUpload.parts[0], p.parts[0].bytes);
        return { sessionId: r.data.beginUpload.id };
      },
      async device(actor) {
        if (!emailOf[actor]) return {};
        const r = await gql(srv.url, 'mutation($e: String!) { signIn(email: $e, password: "correct horse battery", deviceName: "another") { token device { id } } }', { e: emailOf[actor] });
        return { deviceId: r.data.signIn.device.id, token: r.data.signIn.token };
      },
    };
  });
  afterAll(async () => { await srv?.stop(); });

  const actors: Actor[] = ['owner', 'editor', 'viewer', 'stranger', 'anonymous'];
  const cells = Object.entries(ROWS).flatMap(([op, row]) => actors.map((actor) => [op, actor, row.expect[actor]] as const));

  test.each(cells)('%s as %s: %s', async (op, actor, expected) => {
    const row = ROWS[op];
    const x = row.setup ? await row.setup(fx) : {};
    const variables = row.vars ? row.vars(x, fx) : {};
    const token = row.as === 'fresh' ? (await fx.device(actor)).token : tokens[actor];
    const result = op.startsWith('Subscription.')
      ? await subscribeOnce(srv.url, row.doc, variables, token)
      : await gql(srv.url, row.doc, variables, token);
    expect(outcome(result, op.split('.')[1])).toBe(expected);
  });

  const mountCells = Object.entries(MOUNT_ROWS).flatMap(([name, row]) => actors.map((actor) => [name, actor, row.expect[actor]] as const));
  test.each(mountCells)('mount path: %s as %s: %s', async (name, actor, expected) => {
    const row = MOUNT_ROWS[name];
    const x = await fx.file();
    const result = await gql(srv.url, row.doc, row.vars(x), tokens[actor]);
    let got = mountOutcome(result, actor, ids, fx.owner.userId, name.includes('of the root'));
    if (name.startsWith('beginUpload') && got === 'unknown') {
      // where the upload lands: send its one part and complete it, then ask the file whose it is
      const session = result.data.beginUpload;
      expect(session.path).toBe(`/shared/c${x.n}/up.bin`); // as the caller sees it
      expect((await putPart(srv.url, session.parts[0], Buffer.from(`u${x.n}`))).status).toBe(200);
      const done = await gql(srv.url, 'mutation($s: ID!) { completeUpload(sessionId: $s) { owner { id } } }', { s: session.id }, tokens[actor]);
      got = mountOutcome(done, actor, ids, fx.owner.userId, false);
    }
    expect(got).toBe(expected);
    // the owner's tree never gains anything through a refused or foreign write
    if (expected !== 'owner' && row.doc.startsWith('mutation')) {
      const there = await gql(srv.url, '{ a: fileByPath(path: "/shared") { id } }', {}, fx.owner.token);
      expect(there.data.a).toBeTruthy();
      for (const p of [`/shared/c${x.n}/made`, `/out${x.n}.bin`]) {
        expect((await gql(srv.url, 'query($p: String!) { fileByPath(path: $p) { id } }', { p }, fx.owner.token)).data.fileByPath).toBeNull();
      }
    }
  });
});

/** 'owner' / 'own' by the answer's `owner { id }` (or an upload session's `path`), 'clean' for a root listing with nothing of the owner's but the mount. */
function mountOutcome(r: GqlResult, actor: Actor, ids: Record<Actor, string | undefined>, ownerId: string, root: boolean): string {
  if (r.errors?.length) return r.errors[0].extensions?.code ?? 'NO_CODE';
  const value = Object.values(r.data as Record<string, any>)[0];
  if (value === null || value === undefined) return 'null';
  if (value.edges) {
    const owners = value.edges.map((e: any) => e.node.owner.id);
    if (actor === 'owner' || !root) return owners.every((o: string) => o === ownerId) ? 'owner' : 'mixed';
    // a member's root: the owner appears only as the mount /shared
    const leaked = value.edges.filter((e: any) => e.node.owner.id === ownerId && e.node.path !== '/shared');
    return leaked.length ? 'leak' : 'clean';
  }
  if (value.owner) return value.owner.id === ownerId ? 'owner' : value.owner.id === ids[actor] ? 'own' : 'other';
  return 'unknown';
}

function outcome(r: GqlResult, field: string): string {
  if (r.errors?.length) return r.errors[0].extensions?.code ?? 'NO_CODE';
  const value = (r.data as Record<string, unknown> | undefined)?.[field];
  if (Array.isArray(value) && value.length === 1 && value[0] && typeof value[0] === 'object' && 'error' in value[0]) {
    return (value[0] as { error: { code: string } | null }).error?.code ?? 'ok'; // a batch call's one item
  }
  return value === null || value === undefined ? 'null' : 'ok';
}

/** Subscribes over graphql-ws; the first result, or "accepted" (empty data) if none came within a moment. */
async function subscribeOnce(url: string, query: string, variables: Record<string, unknown>, token?: string): Promise<GqlResult> {
  const client = createClient({
    url: url.replace(/^http/, 'ws') + '/graphql', webSocketImpl: WebSocket, retryAttempts: 0, lazy: true,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
  });
  try {
    const it = client.iterate({ query, variables });
    const first = await Promise.race([
      it.next().then((r) => (r.done ? { data: {} } : r.value)),
      new Promise<GqlResult>((resolve) => setTimeout(() => resolve({ data: { [fieldOf(query)]: 'accepted' } }), 700)),
    ]);
    await it.return?.();
    return first as GqlResult;
  } catch (e) {
    const errs = Array.isArray(e) ? e : [e];
    return { errors: errs.map((x: any) => ({ message: String(x?.message), extensions: x?.extensions ?? { code: 'NO_CODE' } })) };
  } finally {
    await client.dispose();
  }
}

function fieldOf(query: string): string {
  return /\{\s*(\w+)/.exec(query)![1];
}

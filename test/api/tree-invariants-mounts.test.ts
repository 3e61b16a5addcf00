import { Mount, Share } from '../../src/entities';
import { nameOf, parentKeyOf, pathKey } from '../../src/services/paths';
import { gql, signUp } from '../helpers/gql';
import { startTestServer, type TestServer } from '../helpers/server';
import { treeViolations } from '../helpers/tree-invariants';

/**
 * The tree invariant checker understands mounts: it reports each kind of broken mount state,
 * written straight into the database (the services never write them), and nothing for a
 * consistent one.
 */
describe('tree invariants: mounts', () => {
  let srv: TestServer;
  beforeAll(async () => { srv = await startTestServer(); });
  afterAll(async () => { await srv?.stop(); });

  test('reports mount loops, mounts over own nodes or outside own folders, bad keys, and shares and mounts without each other', async () => {
    const [alice, bob] = [await signUp(srv.url), await signUp(srv.url)];
    const q = (query: string, v: Record<string, unknown>, token: string) => gql(srv.url, query, v, token);
    const folder = async (p: string, token: string) => (await q('mutation($p: String!) { createFolder(path: $p) { id } }', { p }, token)).data.createFolder.id as string;
    const one = await folder('/one', alice.token);
    const two = await folder('/two', alice.token);
    for (const f of [one, two]) await q('mutation($f: ID!, $e: String!) { shareFile(fileId: $f, email: $e, role: EDITOR) { id } }', { f, e: bob.email }, alice.token);
    await folder('/mine', bob.token);
    const ds = srv.app.services.ds;
    expect(await treeViolations(ds)).toEqual([]);
    const mounts = ds.getRepository(Mount);
    const place = (p: string) => ({ path: p, pathKey: pathKey(p), parentKey: parentKeyOf(p), name: nameOf(p) });
    const m2 = (await mounts.findOneByOrFail({ memberId: bob.userId, fileId: two }));

    // a mount inside another mount (a loop through the member's tree)
    await mounts.update({ id: m2.id }, place('/one/two'));
    expect((await treeViolations(ds)).join('\n')).toMatch(/lies inside the member's mount at \/one/);
    // a mount over an own node of the member
    await mounts.update({ id: m2.id }, place('/mine'));
    expect((await treeViolations(ds)).join('\n')).toMatch(/a live own node of the member stands at the same path/);
    // a mount in a folder the member does not have
    await mounts.update({ id: m2.id }, place('/nowhere/two'));
    expect((await treeViolations(ds)).join('\n')).toMatch(/no live own folder of the member at \/nowhere/);
    // keys that do not match the path
    await mounts.update({ id: m2.id }, { ...place('/two'), pathKey: pathKey('/other') });
    expect((await treeViolations(ds)).join('\n')).toMatch(/keys or name do not match its path/);
    await mounts.update({ id: m2.id }, place('/two'));
    expect(await treeViolations(ds)).toEqual([]);
    // a share without its mount, and a mount without its share or its node
    await mounts.delete({ id: m2.id });
    expect((await treeViolations(ds)).join('\n')).toMatch(/has 0 mounts/);
    await mounts.insert({ ...m2 });
    await ds.getRepository(Share).delete({ fileId: two, userId: bob.userId });
    expect((await treeViolations(ds)).join('\n')).toMatch(/has no share/);
    await mounts.update({ id: m2.id }, { fileId: '00000000-0000-4000-8000-000000000000' });
    expect((await treeViolations(ds)).join('\n')).toMatch(/is gone \(purged\) but the mount stays/);
  });
});

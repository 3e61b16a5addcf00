import type { DataSource } from 'typeorm';
import { FileNode, Mount, Share, UploadSession, User } from '../../src/entities';
import { ROOT, isInside, nameOf, parentKeyOf, parentOf, pathKey } from '../../src/services/paths';

/**
 * Reads the database directly (through the app's DataSource) and returns every violation of
 * the tree and quota invariants, as readable strings (empty: all hold):
 *
 * - a DELETED node holds no path key (it occupies no live path);
 * - a live node's pathKey, parentKey and name match its path;
 * - no two live nodes of an owner share a path;
 * - every live node's parent is a live folder whose path is the node's path less its name
 *   (so following parents always reaches the root: no cycles, checked explicitly too);
 * - each user's `usedBytes` equals the sum of the sizes of their live files, and
 *   `reservedBytes` the sum of what their ACTIVE upload sessions reserved;
 * - mounts (a member's view of a share, issue 14): every share has exactly one mount and every
 *   mount a share; a mount's target node still exists (trashed is fine: it is hidden until
 *   restored; purged means the mount must be gone) and belongs to the mount's owner, never to
 *   the member; its pathKey, parentKey and name match its path; no two mounts of a member, and
 *   no mount and a live own node of the member, share a path; a mount sits in the member's root
 *   or in a live folder of the member's own tree, never inside another mount (no mount loops).
 */
export async function treeViolations(ds: DataSource, ownerIds?: string[]): Promise<string[]> {
  const out: string[] = [];
  const nodes = await ds.getRepository(FileNode).find();
  const users = await ds.getRepository(User).find();
  const sessions = await ds.getRepository(UploadSession).findBy({ status: 'ACTIVE' });
  const owners = ownerIds ?? users.map((u) => u.id);
  out.push(...await mountViolations(ds, nodes, owners));
  for (const ownerId of owners) {
    const mine = nodes.filter((n) => n.ownerId === ownerId);
    const live = mine.filter((n) => n.status !== 'DELETED');
    const byPath = new Map<string, FileNode>();
    for (const n of mine.filter((n) => n.status === 'DELETED' && n.pathKey !== null)) out.push(`DELETED node ${n.id} holds the live path ${n.path}`);
    for (const n of live) {
      if (n.pathKey !== pathKey(n.path)) out.push(`live node ${n.id} at ${n.path}: pathKey ${n.pathKey} is not its path's`);
      if (n.parentKey !== parentKeyOf(n.path)) out.push(`live node ${n.id} at ${n.path}: parentKey does not match its path`);
      if (n.name !== nameOf(n.path)) out.push(`live node ${n.id} at ${n.path}: name ${n.name} does not match its path`);
      if (byPath.has(n.path)) out.push(`two live nodes at ${n.path}: ${byPath.get(n.path)!.id} and ${n.id}`);
      byPath.set(n.path, n);
    }
    const byKey = new Map(live.filter((n) => n.pathKey).map((n) => [n.pathKey!, n]));
    for (const n of live) {
      if (parentOf(n.path) === ROOT) {
        if (n.parentKey !== null) out.push(`live node ${n.id} at ${n.path} has a parent key but sits in the root`);
        continue;
      }
      const parent = n.parentKey ? byKey.get(n.parentKey) : undefined;
      if (!parent) out.push(`live node ${n.id} at ${n.path} has no live parent`);
      else if (!parent.isFolder) out.push(`live node ${n.id} at ${n.path}: its parent ${parent.path} is a file`);
      else if (parent.path !== parentOf(n.path)) out.push(`live node ${n.id} at ${n.path}: its parent is at ${parent.path}`);
      // a cycle: walking up by parent key never reaches the root
      const seen = new Set<string>([n.id]);
      for (let p = parent; p && p.parentKey; p = byKey.get(p.parentKey)) {
        if (seen.has(p.id)) { out.push(`cycle through ${n.path}`); break; }
        seen.add(p.id);
      }
    }
    const user = users.find((u) => u.id === ownerId);
    if (!user) continue;
    const used = live.filter((n) => !n.isFolder && n.status === 'AVAILABLE').reduce((s, n) => s + n.size, 0);
    if (user.usedBytes !== used) out.push(`user ${ownerId}: usedBytes ${user.usedBytes}, but live files hold ${used}`);
    const reserved = sessions.filter((s) => s.ownerId === ownerId).reduce((s, x) => s + x.reservedBytes, 0);
    if (user.reservedBytes !== reserved) out.push(`user ${ownerId}: reservedBytes ${user.reservedBytes}, but ACTIVE sessions reserve ${reserved}`);
  }
  return out;
}

/** The mount invariants (see treeViolations) of the members `memberIds`. */
async function mountViolations(ds: DataSource, nodes: FileNode[], memberIds: string[]): Promise<string[]> {
  const out: string[] = [];
  const mounts = (await ds.getRepository(Mount).find()).filter((x) => memberIds.includes(x.memberId));
  const shares = (await ds.getRepository(Share).find()).filter((s) => memberIds.includes(s.userId));
  const byId = new Map(nodes.map((n) => [n.id, n]));
  for (const s of shares) {
    const n = mounts.filter((x) => x.fileId === s.fileId && x.memberId === s.userId).length;
    if (n !== 1) out.push(`share ${s.id} of ${s.fileId} with ${s.userId} has ${n} mounts`);
  }
  for (const x of mounts) {
    const at = `mount ${x.id} of ${x.memberId} at ${x.path}`;
    if (!shares.some((s) => s.fileId === x.fileId && s.userId === x.memberId)) out.push(`${at} has no share`);
    const target = byId.get(x.fileId);
    if (!target) out.push(`${at}: its shared node ${x.fileId} is gone (purged) but the mount stays`);
    else if (target.ownerId !== x.ownerId || target.ownerId === x.memberId) out.push(`${at}: shared node owned by ${target.ownerId}, mount says ${x.ownerId}`);
    if (x.pathKey !== pathKey(x.path) || x.parentKey !== parentKeyOf(x.path) || x.name !== nameOf(x.path)) out.push(`${at}: keys or name do not match its path`);
    const own = nodes.filter((n) => n.ownerId === x.memberId && n.status !== 'DELETED');
    if (own.some((n) => n.path === x.path)) out.push(`${at}: a live own node of the member stands at the same path`);
    for (const y of mounts) {
      if (y.id === x.id || y.memberId !== x.memberId) continue;
      if (y.path === x.path && y.id < x.id) out.push(`two mounts of ${x.memberId} at ${x.path}`);
      if (isInside(x.path, y.path)) out.push(`${at} lies inside the member's mount at ${y.path}`);
    }
    if (parentOf(x.path) !== ROOT && !own.some((n) => n.isFolder && n.path === parentOf(x.path))) out.push(`${at}: no live own folder of the member at ${parentOf(x.path)}`);
  }
  return out;
}

/**
 * Unchanged parts of a new version: those the file now at the remote path already holds at the
 * same place (same size and SHA-256) are copied inside the store (`copyParts`) instead of sent,
 * so editing 1 MiB of a 1 GiB file moves one or two parts. The server checks again; a part it
 * could not copy comes back still to send.
 */
import type { GraphQLTransport } from './graphql';
import type { PartDigest } from './digest';
import * as ops from './operations';
import type { PartUpload } from './types';

/** Parts per copyParts call (the server's limit). */
const COPY_BATCH = 64;

/** Copies what it can of `todo`; returns the parts as the server now has them (VERIFIED when copied). */
export async function copyUnchangedParts(api: GraphQLTransport, sessionId: string, remotePath: string, todo: PartDigest[], signal?: AbortSignal): Promise<PartUpload[]> {
  if (todo.length < 2) return []; // one part to send: changed content means that part changed (no round trip for small files)
  const { fileByPath: current } = await api.request<{ fileByPath: { isFolder: boolean; chunks: { index: number; offset: string; size: string; sha256: string }[] } | null }>(
    ops.FILE_CHUNKS, { path: remotePath }, signal);
  if (!current || current.isFolder) return [];
  const chunks = new Map(current.chunks.map((c) => [c.index, c]));
  const same = todo.filter((p) => {
    const c = chunks.get(p.partNumber - 1);
    return !!c && c.sha256 === p.sha256 && Number(c.size) === p.size && Number(c.offset) === p.offset;
  });
  const out: PartUpload[] = [];
  for (let i = 0; i < same.length; i += COPY_BATCH) {
    const { copyParts } = await api.request<{ copyParts: PartUpload[] }>(
      ops.COPY_PARTS, { sessionId, partNumbers: same.slice(i, i + COPY_BATCH).map((p) => p.partNumber) }, signal);
    out.push(...copyParts);
  }
  return out;
}

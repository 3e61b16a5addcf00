/**
 * Parts of a new version that the owner already stores (the same SHA-256 and size in any
 * revision of any of their files, wherever it sits there) are copied inside the store
 * (`copyParts`) instead of sent: editing a large file moves only the parts the edit touched,
 * and with content-defined parts (./chunker.ts) an insertion or deletion too. The server
 * finds the sources and checks again; a part it could not copy comes back still to send.
 */
import type { GraphQLTransport } from './graphql';
import type { PartDigest } from './digest';
import * as ops from './operations';
import type { PartUpload } from './types';

/** Parts per copyParts call (the server's limit). */
const COPY_BATCH = 64;

/** Copies what it can of `todo`; returns the parts as the server now has them (VERIFIED when copied). */
export async function copyStoredParts(api: GraphQLTransport, sessionId: string, todo: PartDigest[], signal?: AbortSignal): Promise<PartUpload[]> {
  if (todo.length < 2) return []; // one part to send: a new or changed small file (no round trip for it)
  const out: PartUpload[] = [];
  for (let i = 0; i < todo.length; i += COPY_BATCH) {
    const { copyParts } = await api.request<{ copyParts: PartUpload[] }>(
      ops.COPY_PARTS, { sessionId, partNumbers: todo.slice(i, i + COPY_BATCH).map((p) => p.partNumber) }, signal);
    out.push(...copyParts);
  }
  return out;
}

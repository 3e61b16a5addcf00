import { SESSION_FIELDS, beginInput, gql, prepare, putPart, type GqlResult } from './gql';

/** What a tree mutation answered: the node, or the error code. */
export type Outcome = { ok: true; node: { id: string; path: string; status: string; revision: number; isFolder: boolean } } | { ok: false; code: string };

const NODE = 'id path status revision isFolder';

function outcome(r: GqlResult, field: string): Outcome {
  if (r.errors?.length) return { ok: false, code: String(r.errors[0].extensions?.code ?? 'UNKNOWN') };
  return { ok: true, node: r.data[field] };
}

/** Tree mutations over real HTTP, answering an Outcome rather than throwing. */
export function treeOps(url: string, token: string) {
  return {
    createFolder: async (path: string) => outcome(await gql(url, `mutation($p: String!) { createFolder(path: $p) { ${NODE} } }`, { p: path }, token), 'createFolder'),
    move: async (id: string, toPath: string) => outcome(await gql(url, `mutation($id: ID!, $t: String!) { moveFile(id: $id, toPath: $t) { ${NODE} } }`, { id, t: toPath }, token), 'moveFile'),
    delete: async (id: string) => outcome(await gql(url, `mutation($id: ID!) { deleteFile(id: $id) { ${NODE} } }`, { id }, token), 'deleteFile'),
    restore: async (id: string) => outcome(await gql(url, `mutation($id: ID!) { restoreFile(id: $id) { ${NODE} } }`, { id }, token), 'restoreFile'),
    /** The whole upload protocol for a small file (one part); the first error's code if any step fails. */
    upload: async (path: string, bytes: Buffer): Promise<Outcome> => {
      const f = prepare(bytes, 8 * 1024 * 1024);
      const begun = await gql(url, `mutation($i: BeginUploadInput!) { beginUpload(input: $i) { ${SESSION_FIELDS} } }`, { i: beginInput(path, f) }, token);
      if (begun.errors?.length) return outcome(begun, 'beginUpload');
      const session = begun.data.beginUpload;
      if (session.status === 'COMPLETED') return { ok: true, node: { ...session.file, status: 'AVAILABLE', isFolder: false } };
      const parts = [];
      for (const p of session.parts.filter((p: { url: string | null }) => p.url)) {
        const res = await putPart(url, p, f.parts[p.partNumber - 1].bytes);
        if (!res.ok) return { ok: false, code: `HTTP_${res.status}` };
        parts.push({ partNumber: p.partNumber, etag: res.headers.get('etag')! });
      }
      const done = await gql(url, `mutation($s: ID!, $p: [ConfirmPartInput!]) { completeUpload(sessionId: $s, parts: $p) { ${NODE} } }`, { s: session.id, p: parts }, token);
      return outcome(done, 'completeUpload');
    },
  };
}

/** Another device of the same user (its own token). */
export async function signInDevice(url: string, email: string, deviceName: string): Promise<string> {
  const r = await gql(url, 'mutation($e: String!, $d: String) { signIn(email: $e, password: "correct horse battery", deviceName: $d) { token } }', { e: email, d: deviceName });
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data.signIn.token;
}

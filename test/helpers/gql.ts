import crypto from 'node:crypto';

export interface GqlResult<T = any> {
  data?: T;
  errors?: { message: string; extensions: { code: string; [k: string]: unknown } }[];
}

/** A bare GraphQL-over-HTTP call, as any client would make it. */
export async function gql<T = any>(url: string, query: string, variables: Record<string, unknown> = {}, token?: string): Promise<GqlResult<T>> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as GqlResult<T>;
}

/** The first error's code, or undefined. */
export const codeOf = (r: GqlResult) => r.errors?.[0]?.extensions.code;

let counter = 0;
export async function signUp(url: string, email = `u${Date.now()}-${counter++}@example.com`): Promise<{ token: string; userId: string; email: string }> {
  const r = await gql(url, 'mutation($e: String!) { signUp(email: $e, password: "correct horse battery", deviceName: "test") { token user { id } } }', { e: email });
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return { token: r.data.signUp.token, userId: r.data.signUp.user.id, email };
}

export const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
export const md5 = (b: Buffer) => crypto.createHash('md5').update(b).digest('hex');

export interface PreparedFile {
  bytes: Buffer;
  partSize: number;
  parts: { partNumber: number; size: number; sha256: string; md5: string; bytes: Buffer }[];
  contentHash: string;
}

/** Cuts bytes into parts of `partSize` and computes every hash the protocol needs. */
export function prepare(bytes: Buffer, partSize: number): PreparedFile {
  const parts = [];
  const count = Math.max(1, Math.ceil(bytes.length / partSize));
  for (let i = 0; i < count; i++) {
    const b = bytes.subarray(i * partSize, Math.min(bytes.length, (i + 1) * partSize));
    parts.push({ partNumber: i + 1, size: b.length, sha256: sha256(b), md5: md5(b), bytes: b });
  }
  const h = crypto.createHash('sha256');
  for (const p of parts) h.update(Buffer.from(p.sha256, 'hex'));
  return { bytes, partSize, parts, contentHash: h.digest('hex') };
}

export const SESSION_FIELDS = 'id status size partSize parts { partNumber status url method headers { name value } urlExpiresAt } file { id path size revision contentHash }';

export function beginInput(path: string, f: PreparedFile, extra: Record<string, unknown> = {}) {
  return { path, size: String(f.bytes.length), contentHash: f.contentHash, parts: f.parts.map(({ partNumber, size, sha256, md5 }) => ({ partNumber, size, sha256, md5 })), ...extra };
}

/** PUTs one part to its presigned URL exactly as a browser would; returns the response. */
export async function putPart(serverUrl: string, part: { url: string; method: string; headers: { name: string; value: string }[] }, body: Buffer): Promise<Response> {
  const headers: Record<string, string> = {};
  for (const h of part.headers) headers[h.name] = h.value;
  return fetch(new URL(part.url, serverUrl), { method: part.method, headers, body: body as Uint8Array<ArrayBuffer> });
}

/** The whole protocol: plan, begin, PUT every part, confirm, complete. Returns the file. */
export async function uploadBytes(url: string, token: string, path: string, bytes: Buffer): Promise<any> {
  const plan = await gql(url, 'query($s: BigInt!) { uploadPlan(size: $s) { partSize } }', { s: String(bytes.length) }, token);
  const f = prepare(bytes, Number(plan.data.uploadPlan.partSize));
  const begun = await gql(url, `mutation($i: BeginUploadInput!) { beginUpload(input: $i) { ${SESSION_FIELDS} } }`, { i: beginInput(path, f) }, token);
  if (begun.errors) throw new Error(JSON.stringify(begun.errors));
  const session = begun.data.beginUpload;
  if (session.status === 'COMPLETED') return session.file;
  const confirmed = [];
  for (const p of session.parts.filter((p: any) => p.url)) {
    const res = await putPart(url, p, f.parts[p.partNumber - 1].bytes);
    if (!res.ok) throw new Error(`part ${p.partNumber}: ${res.status} ${await res.text()}`);
    confirmed.push({ partNumber: p.partNumber, etag: res.headers.get('etag')! });
  }
  await gql(url, 'mutation($s: ID!, $p: [ConfirmPartInput!]!) { confirmParts(sessionId: $s, parts: $p) { id } }', { s: session.id, p: confirmed }, token);
  const done = await gql(url, 'mutation($s: ID!) { completeUpload(sessionId: $s) { id path size revision contentHash status } }', { s: session.id }, token);
  if (done.errors) throw new Error(JSON.stringify(done.errors));
  return done.data.completeUpload;
}

/** A fetch for an SDK client that records the name of every GraphQL operation it sends (then sends it). */
export function countingFetch(operations: string[]): typeof fetch {
  return async (input, init) => {
    const body = typeof init?.body === 'string' ? (JSON.parse(init.body) as { query: string }) : null;
    const op = body ? /^\s*(?:query|mutation)\s+(\w+)/.exec(body.query)?.[1] : undefined;
    if (op) operations.push(op);
    return fetch(input, init);
  };
}

/**
 * Cheap SigV4 presigning for the S3 adapter. The SDK's `getSignedUrl` costs ~1 ms of CPU per
 * URL (endpoint rules, request serialisation and a cloned middleware stack on every call), which
 * was most of the server's CPU for a batch of small uploads. Here the bucket's endpoint is
 * resolved once, by the SDK itself (one probe URL through `getSignedUrl`), and every URL after
 * that is signed by the SDK's own `S3RequestPresigner` over a request built here: the same
 * signer, credentials provider (rotation included), region and hashing as the SDK's path, and the
 * same URL, byte for byte (test/storage/s3-signer.test.ts compares them).
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { S3RequestPresigner, getSignedUrl } from '@aws-sdk/s3-request-presigner';

/** The key of the one probe URL (never sent anywhere). */
const PROBE_KEY = 'tessera-endpoint-probe';

/** Where the bucket's objects are, as the SDK resolved it, and a presigner for that region. */
interface Endpoint {
  protocol: string;
  hostname: string;
  port?: number;
  /** The path before `/<key>`: `/bucket` in path style, '' in virtual-hosted style. */
  basePath: string;
  presigner: S3RequestPresigner;
  signingRegion: string;
  signingService: string;
}

export interface SignOptions {
  expiresIn: number;
  /** Headers to sign, lowercase (and to leave as headers rather than hoisting them into the query). */
  signableHeaders: Set<string>;
  unhoistableHeaders: Set<string>;
  signingDate?: Date;
}

/**
 * Presigns requests on one bucket. `presign` resolves with null when the cheap path does not
 * apply (the probe could not be made, or the SDK signs this bucket with something other than
 * plain SigV4 at `<base>/<key>`: SigV4a, S3 Express): the caller then uses `getSignedUrl`.
 * A failed probe is retried on the next call; one that worked is kept for the client's life.
 */
export class S3Signer {
  private endpoint?: Promise<Endpoint | null>;

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
  ) {}

  async presign(
    method: 'GET' | 'PUT',
    key: string,
    query: Record<string, string | undefined>,
    headers: Record<string, string>,
    options: SignOptions,
  ): Promise<string | null> {
    this.endpoint ??= this.resolve().catch(() => {
      this.endpoint = undefined; // e.g. no credentials yet: the SDK path reports it, the next call probes again
      return null;
    });
    const e = await this.endpoint;
    if (!e) return null;
    const q: Record<string, string> = {};
    for (const [k, v] of Object.entries(query)) if (v !== undefined) q[k] = v;
    const signed = await e.presigner.presign({
      method,
      protocol: e.protocol,
      hostname: e.hostname,
      port: e.port,
      path: `${e.basePath}/${key.split('/').map(escapeUri).join('/')}`,
      query: q,
      headers: { ...headers },
    }, { ...options, signingRegion: e.signingRegion, signingService: e.signingService });
    return formatUrl(e, signed.path, signed.query as Record<string, string | string[]>);
  }

  /** The endpoint from one URL the SDK presigns itself; null if it is not plain SigV4 at `<base>/<key>`. */
  private async resolve(): Promise<Endpoint | null> {
    const probe = new URL(await getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: PROBE_KEY }), { expiresIn: 60 }));
    const names = [...probe.searchParams.keys()];
    if (!probe.pathname.endsWith(`/${PROBE_KEY}`) || probe.searchParams.get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256'
      || names.some((n) => n !== 'x-id' && !n.startsWith('X-Amz-')) || probe.username || probe.password || probe.hash) return null;
    const [, , signingRegion, signingService] = (probe.searchParams.get('X-Amz-Credential') ?? '').split('/');
    if (!signingRegion || !signingService) return null;
    return {
      protocol: probe.protocol,
      hostname: probe.hostname,
      port: probe.port ? Number(probe.port) : undefined,
      basePath: probe.pathname.slice(0, -(PROBE_KEY.length + 1)),
      presigner: new S3RequestPresigner({ ...this.client.config, signingName: signingService, region: async () => signingRegion }),
      signingRegion,
      signingService,
    };
  }
}

/** RFC 3986 escaping as the SDK's (encodeURIComponent plus `!'()*`). */
function escapeUri(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The URL as the SDK's formatUrl writes it: query names sorted, each name and value escaped. */
function formatUrl(e: Endpoint, path: string, query: Record<string, string | string[]>): string {
  const parts: string[] = [];
  for (const name of Object.keys(query).sort()) {
    const value = query[name];
    for (const v of Array.isArray(value) ? value : [value]) parts.push(`${escapeUri(name)}=${escapeUri(v)}`);
  }
  const host = e.port === undefined ? e.hostname : `${e.hostname}:${e.port}`;
  return `${e.protocol}//${host}${path}${parts.length ? `?${parts.join('&')}` : ''}`;
}

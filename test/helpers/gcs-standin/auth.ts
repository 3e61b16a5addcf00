/**
 * Independent checks of the two ways a request reaches the stand-in authenticated:
 * a V4 signed URL (query-string authentication) or a bearer self-signed JWT. Neither uses the
 * library's code; both follow Google's published algorithms.
 */
import { createHash, createVerify, type KeyObject } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export type AuthResult = { ok: true; email: string } | { ok: false; status: number; code: string; message: string };

const SEVEN_DAYS = 7 * 24 * 60 * 60;
const CLOCK_SKEW = 5 * 60;

/** RFC 3986 encoding used by canonical requests (everything but A-Z a-z 0-9 - . _ ~). */
export function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function parseGoogDate(s: string | null): number | undefined {
  const m = s?.match(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/);
  return m ? Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) / 1000 : undefined;
}

/**
 * Verifies a V4 signed URL.
 * Algorithm: https://cloud.google.com/storage/docs/access-control/signing-urls-manually and
 * https://cloud.google.com/storage/docs/authentication/canonical-requests (method, canonical
 * URI, canonical query without X-Goog-Signature, canonical headers, signed headers,
 * `UNSIGNED-PAYLOAD`; string to sign `GOOG4-RSA-SHA256\n<date>\n<scope>\n<sha256 hex>`).
 * Expired: 400 ExpiredToken; bad signature: 403 SignatureDoesNotMatch
 * (https://cloud.google.com/storage/docs/xml-api/reference-status).
 */
export function verifySignedUrl(req: IncomingMessage, url: URL, keys: Map<string, KeyObject>, now = Date.now() / 1000): AuthResult {
  const q = url.searchParams;
  const bad = (message: string): AuthResult => ({ ok: false, status: 400, code: 'AuthorizationQueryParametersError', message });
  if (q.get('X-Goog-Algorithm') !== 'GOOG4-RSA-SHA256') return bad('X-Goog-Algorithm must be GOOG4-RSA-SHA256');
  const [email, ...scopeParts] = (q.get('X-Goog-Credential') ?? '').split('/');
  const scope = scopeParts.join('/');
  const date = q.get('X-Goog-Date');
  const at = parseGoogDate(date);
  const expires = Number(q.get('X-Goog-Expires'));
  const signedHeaders = q.get('X-Goog-SignedHeaders') ?? '';
  const signature = q.get('X-Goog-Signature') ?? '';
  if (at === undefined || !scope.startsWith(`${date!.slice(0, 8)}/`) || !scope.endsWith('/storage/goog4_request')) {
    return bad('malformed X-Goog-Credential or X-Goog-Date');
  }
  if (!Number.isInteger(expires) || expires < 1 || expires > SEVEN_DAYS) return bad('X-Goog-Expires must be 1..604800');
  if (!signedHeaders.split(';').includes('host')) return bad('host must be a signed header');
  if (now > at + expires) {
    return { ok: false, status: 400, code: 'ExpiredToken', message: 'The provided token has expired.' };
  }
  if (at > now + CLOCK_SKEW) return { ok: false, status: 400, code: 'ExpiredToken', message: 'Request is not yet valid.' };

  const canonicalUri = url.pathname.split('/').map((s) => uriEncode(decodeURIComponent(s))).join('/');
  const canonicalQuery = [...q.entries()]
    .filter(([k]) => k !== 'X-Goog-Signature')
    .map(([k, v]) => [uriEncode(k), uriEncode(v)])
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const canonicalHeaders = signedHeaders
    .split(';')
    .map((h) => `${h}:${headerValue(req, h).trim().replace(/\s+/g, ' ')}\n`)
    .join('');
  const canonicalRequest = [req.method, canonicalUri, canonicalQuery, canonicalHeaders, signedHeaders, 'UNSIGNED-PAYLOAD'].join('\n');
  const stringToSign = ['GOOG4-RSA-SHA256', date, scope, createHash('sha256').update(canonicalRequest).digest('hex')].join('\n');

  const key = keys.get(email);
  const valid = !!key && /^[0-9a-f]+$/.test(signature) && createVerify('RSA-SHA256').update(stringToSign).verify(key, Buffer.from(signature, 'hex'));
  if (!valid) {
    return {
      ok: false,
      status: 403,
      code: 'SignatureDoesNotMatch',
      message: 'Access denied. The request signature we calculated does not match the signature you provided.',
    };
  }
  return { ok: true, email };
}

/**
 * The stand-in listens on an ephemeral port, but GCS's host (storage.googleapis.com) never
 * carries one and the library signs the bare hostname; so `host` is compared without port.
 */
function headerValue(req: IncomingMessage, name: string): string {
  const v = req.headers[name];
  const s = Array.isArray(v) ? v.join(',') : (v ?? '');
  return name === 'host' ? s.replace(/:\d+$/, '') : s;
}

/**
 * Verifies `Authorization: Bearer <self-signed JWT>` (RS256, `iss` = the service account,
 * unexpired, with a Cloud Storage scope or an audience):
 * https://developers.google.com/identity/protocols/oauth2/service-account#jwt-auth
 * Missing or invalid credentials: 401 (https://cloud.google.com/storage/docs/json_api/v1/status-codes#401_Unauthorized).
 */
export function verifyBearer(req: IncomingMessage, keys: Map<string, KeyObject>, now = Date.now() / 1000): AuthResult {
  const unauthorized = (message: string): AuthResult => ({ ok: false, status: 401, code: 'AuthenticationRequired', message });
  const m = req.headers.authorization?.match(/^Bearer ([\w-]+)\.([\w-]+)\.([\w-]+)$/);
  if (!m) return unauthorized('Anonymous caller does not have access to the Google Cloud Storage resource.');
  try {
    const header = JSON.parse(Buffer.from(m[1], 'base64url').toString());
    const claims = JSON.parse(Buffer.from(m[2], 'base64url').toString());
    const key = keys.get(claims.iss);
    if (header.alg !== 'RS256' || !key) return unauthorized('Invalid Credentials');
    if (!createVerify('RSA-SHA256').update(`${m[1]}.${m[2]}`).verify(key, Buffer.from(m[3], 'base64url'))) return unauthorized('Invalid Credentials');
    if (!(claims.exp > now) || claims.iat > now + CLOCK_SKEW) return unauthorized('Invalid Credentials (expired)');
    const scopes = String(claims.scope ?? '').split(' ');
    const scoped = scopes.some((s) => /\/auth\/(cloud-platform|devstorage\.(full_control|read_write))$/.test(s));
    if (!scoped && !claims.aud) return unauthorized('Insufficient scope');
    return { ok: true, email: claims.iss };
  } catch {
    return unauthorized('Invalid Credentials');
  }
}

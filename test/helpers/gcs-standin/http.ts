/** Small HTTP helpers for the GCS stand-in: bodies, XML and JSON error documents, ranges. */
import type { IncomingMessage, ServerResponse } from 'node:http';

export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

export function sendXml(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  const buf = Buffer.from(`<?xml version='1.0' encoding='UTF-8'?>${body}`);
  res.writeHead(status, { 'Content-Type': 'application/xml; charset=UTF-8', 'Content-Length': buf.length, ...headers });
  res.end(buf);
}

/** XML API error document: https://cloud.google.com/storage/docs/xml-api/reference-status */
export function sendXmlError(res: ServerResponse, status: number, code: string, message: string, details?: string): void {
  const d = details ? `<Details>${escapeXml(details)}</Details>` : '';
  sendXml(res, status, `<Error><Code>${code}</Code><Message>${escapeXml(message)}</Message>${d}</Error>`);
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const buf = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'Content-Type': 'application/json; charset=UTF-8', 'Content-Length': buf.length });
  res.end(buf);
}

/** JSON API error: https://cloud.google.com/storage/docs/json_api/v1/status-codes */
export function sendJsonError(res: ServerResponse, status: number, reason: string, message: string): void {
  sendJson(res, status, { error: { code: status, message, errors: [{ domain: 'global', reason, message }] } });
}

/**
 * A single `bytes=a-b` / `bytes=a-` / `bytes=-n` range (RFC 9110 §14.1.2), clamped to the
 * object. Returns 'unsatisfiable' for a range starting past the end, undefined when absent.
 */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  const m = header?.match(/^bytes=(\d*)-(\d*)$/);
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const n = Math.min(Number(m[2]), size);
    return n === 0 ? 'unsatisfiable' : { start: size - n, end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  return start >= size || end < start ? 'unsatisfiable' : { start, end };
}

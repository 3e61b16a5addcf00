import crypto from 'node:crypto';
import { badInput } from './errors';

const CONTROL = /[\u0000-\u001f\u007f]/;
export const ROOT = '/';

/**
 * Validates and normalises a user path: absolute, '/'-separated, NFC, no empty, '.' or '..'
 * segments, no control characters, segments of at most 255 bytes. A single trailing slash
 * is dropped. Throws BAD_USER_INPUT.
 */
export function normalisePath(input: string): string {
  if (typeof input !== 'string' || !input.startsWith('/')) throw badInput('path must start with "/"', { path: input });
  if (CONTROL.test(input)) throw badInput('path contains control characters', { path: input });
  let p = input.normalize('NFC');
  if (p.length > 1 && p.endsWith('/')) p = p.slice(0, -1);
  if (p === ROOT) return ROOT;
  if (Buffer.byteLength(p) > 4096) throw badInput('path longer than 4096 bytes', { path: input });
  for (const segment of p.slice(1).split('/')) {
    if (segment === '') throw badInput('path has an empty segment', { path: input });
    if (segment === '.' || segment === '..') throw badInput('path may not contain "." or ".." segments', { path: input });
    if (Buffer.byteLength(segment) > 255) throw badInput('path segment longer than 255 bytes', { path: input });
  }
  return p;
}

/** A byte-exact, fixed-length key for a normalised path (unique indexes, lookups). */
export function pathKey(path: string): string {
  return crypto.createHash('sha256').update(path, 'utf8').digest('hex');
}

export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? ROOT : path.slice(0, i);
}

export function nameOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** pathKey of the parent folder, or null for children of the root. */
export function parentKeyOf(path: string): string | null {
  const parent = parentOf(path);
  return parent === ROOT ? null : pathKey(parent);
}

/** Ancestors from the top down, excluding the root and the path itself. */
export function ancestorsOf(path: string): string[] {
  const out: string[] = [];
  for (let p = parentOf(path); p !== ROOT; p = parentOf(p)) out.unshift(p);
  return out;
}

export function isInside(path: string, folder: string): boolean {
  return folder === ROOT ? path !== ROOT : path.startsWith(folder + '/');
}

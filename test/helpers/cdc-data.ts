import { createCipheriv, createHash } from 'node:crypto';
import { chunkParams, cutPoints } from '../../clients/sdk/chunker';

/**
 * `size` pseudo-random bytes that the SDK (and the web app) cut into at least `minParts`
 * content-defined parts: the first seed from `name` whose bytes do (AES-256-CTR over zeros,
 * so the same name always gives the same bytes), with where those parts end.
 */
export function multiPart(name: string, size: number, minParts = 3): { data: Buffer; ends: number[] } {
  for (let seed = 0; seed < 1000; seed++) {
    const c = createCipheriv('aes-256-ctr', createHash('sha256').update(`${name}-${seed}`).digest(), Buffer.alloc(16));
    const data = Buffer.concat([c.update(Buffer.alloc(size)), c.final()]);
    const ends = cutPoints(data, chunkParams(size));
    if (ends.length >= minParts) return { data, ends };
  }
  throw new Error(`no seed of ${name} gives ${minParts} parts in ${size} bytes`);
}

import type { TesseraClient } from '../sdk/client';
import { contentDefinedFor } from '../sdk/chunker';
import { hashFileChunked } from '../sdk/chunked-hashing';
import { choosePartSize, hashFileParts } from '../sdk/hashing';

/**
 * Hashes local files into the server's contentHash (SHA-256 over part digests), cut as an
 * upload from this SDK would cut them (content-defined parts where the plan allows, else the
 * part size the server's uploadPlan would give), so local and remote hashes compare directly. The
 * plan's minimum part size and part limit are asked once; a file too big for the smallest part
 * size asks uploadPlan for its own size. Rejects with the fs error or a TesseraError.
 */
export class ContentHasher {
  private limits: Promise<{ minPartSize: number; maxParts: number }> | null = null;

  constructor(private readonly client: TesseraClient) {}

  async partSize(size: number): Promise<number> {
    this.limits ??= this.client.uploadPlan(0).then((p) => ({ minPartSize: Number(p.minPartSize), maxParts: p.maxParts }),
      (e) => { this.limits = null; throw e; });
    const { minPartSize, maxParts } = await this.limits;
    if (size <= minPartSize * maxParts) return choosePartSize(size, { minPartSize, maxParts });
    return Number((await this.client.uploadPlan(size)).partSize);
  }

  async hash(path: string, size: number): Promise<string> {
    const partSize = await this.partSize(size);
    const chunking = contentDefinedFor(size, await this.limits!);
    return (await (chunking ? hashFileChunked(path, chunking) : hashFileParts(path, partSize))).contentHash;
  }
}

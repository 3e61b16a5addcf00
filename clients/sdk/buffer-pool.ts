/**
 * Spare batch buffers of a download: a hash worker hands each buffer back (transferred) once it
 * has hashed it, and the next batch is read into it. A 1 GiB download then allocates a few dozen
 * 4 MiB buffers instead of 256, which spares the garbage collector ~1 GiB of external memory.
 * At most MAX_SPARE buffers of each size are kept; `dropSpareBuffers` lets them all go.
 */
const MAX_SPARE = 16;
const spare = new Map<number, ArrayBuffer[]>();

/** A buffer of exactly `size` bytes with an ArrayBuffer of its own (so it can be transferred). */
export function takeBuffer(size: number): Buffer {
  const ab = spare.get(size)?.pop();
  return ab ? Buffer.from(ab) : Buffer.allocUnsafeSlow(size);
}

/** Offers a buffer nobody uses any more for reuse. */
export function giveBuffer(ab: ArrayBuffer): void {
  let list = spare.get(ab.byteLength);
  if (!list) spare.set(ab.byteLength, (list = []));
  if (list.length < MAX_SPARE) list.push(ab);
}

export function dropSpareBuffers(): void {
  spare.clear();
}

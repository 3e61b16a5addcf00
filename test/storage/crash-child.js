// Child process of local-crash-points.test.ts: drives the built local store (dist/) through
// one workload; TESSERA_CRASH_AT (set by the test) makes it SIGKILL itself at one step.
// Usage: node crash-child.js <root> <workload> <bytes file> <state file> <part size>
// Workloads: in-place | reput | copy | abort. Progress is written to the state file
// (synchronously) before each step, so the test knows what the client had been told.
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const { Readable } = require('node:stream');
const { LocalStorageAdapter } = require(path.resolve(__dirname, '../../dist/src/storage/local'));

const [root, workload, bytesFile, stateFile, partSizeArg] = process.argv.slice(2);
const P = Number(partSizeArg);
const bytes = fs.readFileSync(bytesFile);
const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');
const parts = [];
for (let i = 0; i * P < bytes.length; i++) parts.push({ partNumber: i + 1, buf: bytes.subarray(i * P, Math.min(bytes.length, (i + 1) * P)) });
// TESSERA_TEST_ENCRYPTION_KEY (hex): the store encrypts at rest (segments of 4 KiB)
const keyHex = process.env.TESSERA_TEST_ENCRYPTION_KEY;
const encryption = keyHex ? { keys: [Buffer.from(keyHex, 'hex')], segmentSize: 4096 } : undefined;
const store = new LocalStorageAdapter({ root, signingSecret: 'crash-test', minPartSize: P, encryption });
const state = { key: 'crash/obj', phase: 'create', stored: [] };
const save = () => fs.writeFileSync(stateFile, JSON.stringify(state));
const put = (uploadId, p) => store.receivePart(uploadId, p.partNumber, p.buf.length, sha(p.buf), Readable.from([p.buf]));

async function main() {
  save();
  state.uploadId = await store.createMultipartUpload(state.key, { partSize: P });
  state.phase = 'parts';
  save();
  for (const p of parts) {
    if (workload === 'copy' && p.partNumber === 1) {
      await store.uploadPartCopy(state.key, state.uploadId, 1, { key: 'crash/source', range: { offset: 0, length: p.buf.length } });
    } else {
      await put(state.uploadId, p);
    }
    state.stored.push(p.partNumber);
    save();
  }
  if (workload === 'reput') await put(state.uploadId, parts[1]); // a re-sent part goes to a file of its own
  state.phase = workload === 'abort' ? 'abort' : 'complete';
  save();
  if (workload === 'abort') await store.abortMultipartUpload(state.key, state.uploadId);
  else await store.completeMultipartUpload(state.key, state.uploadId, parts.map((p) => ({ partNumber: p.partNumber, etag: sha(p.buf) })));
  state.phase = 'done';
  save();
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);

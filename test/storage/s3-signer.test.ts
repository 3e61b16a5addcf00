/**
 * The S3 adapter's cheap presigning (src/storage/s3/signer.ts) gives the same URL, byte for byte,
 * as the SDK's getSignedUrl for every request the adapter presigns, on path-style and
 * virtual-hosted endpoints, with keys that need escaping. No network: presigning is local.
 */
import { createS3Client, type S3Options } from '../../src/storage/s3/options';
import { presignObjectGet, presignObjectPut, presignPartPut, type PresignTarget } from '../../src/storage/s3/presign';
import { S3Signer } from '../../src/storage/s3/signer';

const creds = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const stores: [string, S3Options][] = [
  ['path style (RGW)', { endpoint: 'http://127.0.0.1:7480', region: 'us-east-1', bucket: 'tessera-test', forcePathStyle: true, ...creds }],
  ['AWS, virtual-hosted', { region: 'eu-west-1', bucket: 'tessera-prod', ...creds }],
  ['AWS us-east-1, https default port', { region: 'us-east-1', bucket: 'b1', ...creds }],
  ['custom endpoint, virtual-hosted', { endpoint: 'https://s3.example.net', region: 'auto', bucket: 'files', ...creds }],
  ['bucket with dots (path style by the SDK)', { region: 'us-west-2', bucket: 'my.dotted.bucket', ...creds }],
];
const keys = ['u/5d1c/b/77aa/0f3e-11', 'pre fix/ü ñ/a+b=c&d?e#f', "x/!'()*~._-/%41/ /", 'a//b'];
const date = new Date('2026-12-08T03:00:00Z');
const md5 = '9e107d9d372bb6826bd81d3542a419d6';

describe.each(stores)('presigned URLs on %s', (_name, options) => {
  const client = createS3Client(options);
  const fast = new S3Signer(client, options.bucket);
  const sdkOnly = { presign: async () => null } as unknown as S3Signer;
  const both = (key: string): [PresignTarget, PresignTarget] => [
    { client, signer: fast, bucket: options.bucket, key, signingDate: date },
    { client, signer: sdkOnly, bucket: options.bucket, key, signingDate: date },
  ];
  afterAll(() => client.destroy());

  it.each(keys)('are the SDK\'s own for key %j', async (key) => {
    const [a, b] = both(key);
    const cases = [
      (t: PresignTarget) => presignObjectPut(t, { expiresIn: 900 }),
      (t: PresignTarget) => presignObjectPut(t, { md5, contentType: 'text/plain; charset=utf-8', expiresIn: 3600 }),
      (t: PresignTarget) => presignObjectPut(t, { md5, sse: { algorithm: 'aws:kms', kmsKeyId: 'arn:aws:kms:eu-west-1:1:key/k' }, expiresIn: 60 }),
      (t: PresignTarget) => presignObjectPut(t, { md5, sse: { algorithm: 'AES256' }, expiresIn: 60 }),
      (t: PresignTarget) => presignPartPut(t, 'upload/id+with=chars', 17, { md5, expiresIn: 600 }),
      (t: PresignTarget) => presignPartPut(t, '2~abc', 1, { expiresIn: 600 }),
      (t: PresignTarget) => presignObjectGet(t, { expiresIn: 600 }),
      (t: PresignTarget) => presignObjectGet(t, { expiresIn: 600, range: { offset: 5, length: 10 }, fileName: 'résumé "final".pdf', contentType: 'application/pdf' }),
    ];
    for (const presign of cases) {
      const [mine, sdk] = [await presign(a), await presign(b)];
      expect(mine.url).toBe(sdk.url);
      expect(mine.headers).toEqual(sdk.headers);
    }
  });

  it('does sign through the cheap path (the probe resolved the endpoint)', async () => {
    expect(await fast.presign('GET', 'k', { 'x-id': 'GetObject' }, {}, { expiresIn: 60, signableHeaders: new Set(), unhoistableHeaders: new Set() })).toMatch(/X-Amz-Signature=/);
  });
});

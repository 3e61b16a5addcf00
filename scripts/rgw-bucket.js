#!/usr/bin/env node
// rgw-bucket.js - creates the test bucket (idempotent) and applies Tessera's CORS rule.
// Reads S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY, S3_REGION, S3_BUCKET. Used by start-rgw.sh.
'use strict';
const { S3Client, CreateBucketCommand, PutBucketCorsCommand } = require('@aws-sdk/client-s3');

/** Browsers PUT parts and GET/HEAD objects straight to the store and must read the ETag. */
const CORS = {
  CORSRules: [
    {
      AllowedOrigins: ['*'],
      AllowedMethods: ['PUT', 'GET', 'HEAD'],
      AllowedHeaders: ['*'],
      ExposeHeaders: ['ETag'],
      MaxAgeSeconds: 3600,
    },
  ],
};

async function main() {
  const env = process.env;
  const bucket = env.S3_BUCKET || 'tessera-test';
  const s3 = new S3Client({
    endpoint: env.S3_ENDPOINT,
    region: env.S3_REGION || 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: env.S3_ACCESS_KEY, secretAccessKey: env.S3_SECRET_KEY },
  });
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (e) {
    if (e.name !== 'BucketAlreadyOwnedByYou' && e.name !== 'BucketAlreadyExists') throw e;
  }
  await s3.send(new PutBucketCorsCommand({ Bucket: bucket, CORSConfiguration: CORS }));
  s3.destroy();
}

main().catch((e) => {
  console.error(`rgw-bucket.js: ${e.name}: ${e.message}`);
  process.exit(1);
});

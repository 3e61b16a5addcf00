import fs from 'node:fs';
import path from 'node:path';
import { printSchema } from 'graphql';
import { createSchema } from '../../src/resolvers';

test('schema.graphql is generated from the resolvers and up to date (npm run schema)', async () => {
  const committed = fs.readFileSync(path.join(__dirname, '..', '..', 'schema.graphql'), 'utf8');
  expect(committed).toBe(printSchema(await createSchema()) + '\n');
});

test('the contract names of DESIGN.md are all in the schema', async () => {
  const schema = await createSchema();
  const fields = (t: string) => Object.keys((schema.getType(t) as any).getFields());
  expect(fields('Query')).toEqual(expect.arrayContaining(['me', 'file', 'fileByPath', 'listFolder', 'uploadPlan', 'uploadSession', 'changes', 'latestCursor']));
  expect(fields('Mutation')).toEqual(expect.arrayContaining(['signUp', 'signIn', 'createFolder', 'beginUpload', 'confirmParts', 'refreshPartUrls', 'completeUpload', 'abortUpload', 'moveFile', 'deleteFile']));
  expect(fields('Subscription')).toEqual(expect.arrayContaining(['changes', 'uploadProgress']));
});

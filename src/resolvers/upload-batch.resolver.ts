import { Arg, Ctx, Mutation, Resolver } from 'type-graphql';
import { BeginUploadInput } from '../schema/types';
import { BeginUploadResultType, CompleteUploadInput, CompleteUploadResultType, type UploadItemErrorType } from '../schema/upload-batch-types';
import type { AppError } from '../services/errors';
import { MAX_BATCH } from '../services/upload-batch';
import { requireUser, type Context } from './context';
import { toSession } from './upload.resolver';

const PER_ITEM = 'Results are per item, in input order: a failed item gets its own error (the code the single call would have thrown) and writes nothing; the other items are unaffected. A failure of the request itself (not signed in, too many items, the server failing) is a GraphQL error and writes nothing.';

/** The batch API for many files (services/upload-batch.ts): one request and one transaction per batch. */
@Resolver()
export class UploadBatchResolver {
  @Mutation(() => [BeginUploadResultType], {
    description: `beginUpload for up to ${MAX_BATCH} files in one request (quota reserved in input order under one lock). ${PER_ITEM}`,
  })
  async beginUploads(@Arg('inputs', () => [BeginUploadInput]) inputs: BeginUploadInput[], @Ctx() ctx: Context): Promise<BeginUploadResultType[]> {
    const p = requireUser(ctx);
    const results = await ctx.services.uploadBatches.begin(p.userId, p.deviceId, inputs);
    return results.map((r, index) => ({ index, session: r.ok ? toSession(r.ok) : null, error: r.error ? itemError(r.error) : null }));
  }

  @Mutation(() => [CompleteUploadResultType], {
    description: `completeUpload for up to ${MAX_BATCH} sessions in one request: every object is checked in the store, then the revisions, their folders and journal entries are written in one transaction. ${PER_ITEM}`,
  })
  async completeUploads(@Arg('uploads', () => [CompleteUploadInput]) uploads: CompleteUploadInput[], @Ctx() ctx: Context): Promise<CompleteUploadResultType[]> {
    const p = requireUser(ctx);
    const results = await ctx.services.uploadBatches.complete(p.userId, p.deviceId, uploads);
    return results.map((r, index) => ({ index, file: (r.ok ?? null) as never, error: r.error ? itemError(r.error) : null }));
  }
}

function itemError(e: AppError): UploadItemErrorType {
  const x = e.extensions as { path?: unknown; missingParts?: unknown };
  return {
    code: e.code, message: e.message,
    path: typeof x.path === 'string' ? x.path : null,
    missingParts: Array.isArray(x.missingParts) ? x.missingParts.map(Number) : null,
  };
}

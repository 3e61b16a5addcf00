import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { PartView, SessionView } from '../services/uploads';
import { BigIntScalar, DateTimeScalar } from '../schema/scalars';
import { BeginUploadInput, ConfirmPartInput, FileType, HeaderType, PartUploadType, UploadPlanType, UploadSessionType } from '../schema/types';
import { AppError } from '../services/errors';
import { MAX_PART_URLS_PER_RESPONSE, requireUser, type Context } from './context';

@Resolver(() => UploadSessionType)
export class UploadResolver {
  @Query(() => UploadPlanType)
  uploadPlan(@Arg('size', () => BigIntScalar) size: number, @Ctx() ctx: Context) {
    requireUser(ctx);
    return ctx.services.uploads.plan(size);
  }

  @Query(() => UploadSessionType, { nullable: true })
  async uploadSession(@Arg('id', () => ID) id: string, @Ctx() ctx: Context) {
    return toSession(await ctx.services.uploads.get(requireUser(ctx).userId, id).catch((e) => {
      if (e?.code === 'NOT_FOUND') return null;
      throw e;
    }));
  }

  @Query(() => [UploadSessionType], {
    description: 'Your ACTIVE upload sessions, begun by any of your devices, newest first (first: at most 100, default 20). Follow one with the uploadProgress subscription.',
  })
  async activeUploads(@Arg('first', () => Int, { nullable: true }) first: number | null, @Ctx() ctx: Context) {
    return (await ctx.services.uploads.active(requireUser(ctx).userId, first ?? 20)).map(toSession);
  }

  @Mutation(() => UploadSessionType)
  async beginUpload(@Arg('input', () => BeginUploadInput) input: BeginUploadInput, @Ctx() ctx: Context) {
    const p = requireUser(ctx);
    return toSession(await ctx.services.uploads.begin(p.userId, p.deviceId, input));
  }

  @Mutation(() => UploadSessionType)
  async confirmParts(
    @Arg('sessionId', () => ID) sessionId: string,
    @Arg('parts', () => [ConfirmPartInput]) parts: ConfirmPartInput[],
    @Ctx() ctx: Context,
  ) {
    return toSession(await ctx.services.uploads.confirmParts(requireUser(ctx).userId, sessionId, parts));
  }

  @Mutation(() => [PartUploadType], {
    description: 'Copies, inside the store, parts the owner already stores: the same SHA-256 and size anywhere in any revision of any of their files (an editor of a shared folder: only in the current revision of the file at this path; never across owners); at most 64 per call. An edited file sends only what changed. Returns those parts: VERIFIED when copied, else still to send (with their URL).',
  })
  async copyParts(
    @Arg('sessionId', () => ID) sessionId: string,
    @Arg('partNumbers', () => [Int]) partNumbers: number[],
    @Ctx() ctx: Context,
  ) {
    return (await ctx.services.uploads.copyParts(requireUser(ctx).userId, sessionId, partNumbers)).map(toPart);
  }

  @Mutation(() => [PartUploadType])
  async refreshPartUrls(
    @Arg('sessionId', () => ID) sessionId: string,
    @Arg('partNumbers', () => [Int]) partNumbers: number[],
    @Ctx() ctx: Context,
  ) {
    return (await ctx.services.uploads.refreshPartUrls(requireUser(ctx).userId, sessionId, partNumbers)).map(toPart);
  }

  @Mutation(() => FileType, {
    description: 'Assembles the object once the store holds every part as declared, and makes it the file\'s new revision. `parts`: ETags of parts not confirmed yet (the last batch), checked as confirmParts would. Idempotent.',
  })
  completeUpload(
    @Arg('sessionId', () => ID) sessionId: string,
    @Arg('parts', () => [ConfirmPartInput], { nullable: true }) parts: ConfirmPartInput[] | null,
    @Ctx() ctx: Context,
  ) {
    const p = requireUser(ctx);
    return ctx.services.uploads.complete(p.userId, p.deviceId, sessionId, parts ?? []);
  }

  @Mutation(() => Boolean)
  abortUpload(@Arg('sessionId', () => ID) sessionId: string, @Ctx() ctx: Context) {
    return ctx.services.uploads.abort(requireUser(ctx).userId, sessionId);
  }

  @FieldResolver(() => String, { description: 'Where the file will be, as you see it (through your mount when you upload into a folder shared with you).' })
  async path(@Root() session: UploadSessionType, @Ctx() ctx: Context) {
    const userId = ctx.principal?.userId;
    if (!userId || !session.ownerId || session.ownerId === userId) return session.path;
    const view = (await ctx.loaders.mountIndex.load(userId)).view({ id: '', ownerId: session.ownerId, path: session.path, name: '' });
    return view?.path ?? session.path;
  }

  @FieldResolver(() => [PartUploadType])
  parts(@Root() session: UploadSessionType) {
    return session.loadParts();
  }

  @FieldResolver(() => FileType, { nullable: true })
  file(@Root() session: UploadSessionType, @Ctx() ctx: Context) {
    return session.fileId ? ctx.services.files.get(requireUser(ctx).userId, session.fileId) : null;
  }
}

/** Parts are read, and their URLs minted, only when a query selects them. */
@Resolver(() => PartUploadType)
export class PartUploadResolver {
  @FieldResolver(() => String, { nullable: true, description: `Null once a part is verified. At most ${MAX_PART_URLS_PER_RESPONSE} per response (PAYLOAD_TOO_LARGE for the others: use refreshPartUrls).` })
  async url(@Root() p: PartUploadType, @Ctx() ctx: Context) {
    if (!grant(p, ctx)) {
      throw new AppError('PAYLOAD_TOO_LARGE', `at most ${MAX_PART_URLS_PER_RESPONSE} part URLs per response; ask refreshPartUrls for the others`);
    }
    return (await p.presigned())?.url ?? null;
  }

  @FieldResolver(() => String)
  async method(@Root() p: PartUploadType, @Ctx() ctx: Context) {
    return (grant(p, ctx) ? await p.presigned() : null)?.method ?? 'PUT';
  }

  @FieldResolver(() => [HeaderType])
  async headers(@Root() p: PartUploadType, @Ctx() ctx: Context) {
    return (grant(p, ctx) ? await p.presigned() : null)?.headers ?? [];
  }

  @FieldResolver(() => DateTimeScalar, { nullable: true })
  async urlExpiresAt(@Root() p: PartUploadType, @Ctx() ctx: Context) {
    return (grant(p, ctx) ? await p.presigned() : null)?.urlExpiresAt ?? null;
  }
}

/** Whether this response may mint `p`'s URL: each part counts once against the response's budget. */
function grant(p: PartUploadType, ctx: Context): boolean {
  const budget = ctx.loaders.partUrls;
  if (budget.granted.has(p.presigned)) return true; // field resolvers may see copies of the part: key on its minting function
  if (p.status === 'VERIFIED') return true; // no URL to mint
  if (budget.left <= 0) return false;
  budget.left--;
  budget.granted.add(p.presigned);
  return true;
}

export function toSession(view: SessionView | null): UploadSessionType | null {
  if (!view) return null;
  const s = view.session;
  return {
    id: s.id, path: s.path, ownerId: s.ownerId, size: s.size, partSize: s.partSize, contentHash: s.contentHash, status: s.status as UploadSessionType['status'],
    expiresAt: s.expiresAt, fileId: s.fileId, loadParts: async () => (await view.parts()).map(toPart),
  };
}

function toPart(v: PartView): PartUploadType {
  return {
    partNumber: v.part.partNumber, offset: v.part.offset, size: v.part.size, sha256: v.part.sha256,
    status: v.part.status as PartUploadType['status'], presigned: v.presigned,
  };
}

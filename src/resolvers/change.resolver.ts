import { Arg, Ctx, FieldResolver, ID, Int, Query, Resolver, Root, Subscription } from 'type-graphql';
import type { FileNode } from '../entities';
import type { ChangeEntry } from '../services/journal';
import type { Ended, LiveItem } from '../services/live';
import { ChangePageType, ChangeType, FileType, UploadSessionType } from '../schema/types';
import { createLoaders, requireUser, type Context } from './context';
import { toSession } from './upload.resolver';

@Resolver(() => ChangeType)
export class ChangeResolver {
  @Query(() => ChangePageType, { description: 'Changes after `cursor` (null: from the beginning of what you can see). RESET: the cursor is older than the journal keeps.' })
  async changes(
    @Arg('cursor', () => String, { nullable: true }) cursor: string | null,
    @Arg('limit', () => Int, { nullable: true }) limit: number | null,
    @Ctx() ctx: Context,
  ) {
    const { userId } = requireUser(ctx);
    const page = await ctx.services.journal.read([userId], cursor ?? null, limit ?? 100);
    return { changes: page.changes.map(toChange), cursor: page.cursor, hasMore: page.hasMore };
  }

  @Query(() => String, { description: 'A cursor at the end of your journal: changes from now on.' })
  latestCursor(@Ctx() ctx: Context) {
    return ctx.services.journal.latest([requireUser(ctx).userId]);
  }

  @Subscription(() => ChangeType, {
    name: 'changes',
    description: 'Replays every change after `cursor`, then streams live. Ends (after an UNAUTHENTICATED error) when the device is revoked.',
    subscribe: ({ args, context }) => {
      const ctx = context as Context;
      const { userId, deviceId } = requireUser(ctx);
      return ctx.services.live.changes(userId, deviceId, args.cursor ?? null);
    },
  })
  changesFeed(@Root() item: LiveItem, @Arg('cursor', () => String, { nullable: true }) _cursor: string | null, @Ctx() ctx: Context) {
    if ('end' in item) throw item.end;
    freshLoaders(ctx);
    return toChange(item);
  }

  @Subscription(() => UploadSessionType, {
    description: 'The session now and after every change. Ends (after an UNAUTHENTICATED error) when the device is revoked.',
    subscribe: async ({ args, context }) => {
      const ctx = context as Context;
      const { userId, deviceId } = requireUser(ctx);
      await ctx.services.uploads.get(userId, args.sessionId);
      return ctx.services.live.watch(userId, deviceId, (e) => e.type === 'upload' && e.sessionId === args.sessionId,
        async () => toSession(await ctx.services.uploads.get(userId, args.sessionId)));
    },
  })
  uploadProgress(@Root() item: UploadSessionType | null | Ended, @Arg('sessionId', () => ID) _sessionId: string, @Ctx() ctx: Context) {
    if (item && 'end' in item) throw item.end;
    freshLoaders(ctx);
    return item;
  }

  @Subscription(() => [UploadSessionType], {
    name: 'activeUploads',
    description: 'Your ACTIVE upload sessions, as the activeUploads query lists them (first: at most 100, default 20): now, and again each time one of them begins or ends on any device. Ends (after an UNAUTHENTICATED error) when the device is revoked.',
    subscribe: ({ args, context }) => {
      const ctx = context as Context;
      const { userId, deviceId } = requireUser(ctx);
      return ctx.services.live.watch(userId, deviceId, (e) => (e.type === 'uploads' && e.userId === userId) || e.type === 'resync',
        async () => (await ctx.services.uploads.active(userId, args.first ?? 20)).map(toSession));
    },
  })
  activeUploadsFeed(@Root() item: UploadSessionType[] | Ended, @Arg('first', () => Int, { nullable: true }) _first: number | null, @Ctx() ctx: Context) {
    if ('end' in item) throw item.end;
    freshLoaders(ctx);
    return item;
  }

  @FieldResolver(() => FileType, { nullable: true, description: 'The file as it is now; null when you can no longer see it.' })
  async file(@Root() change: ChangeType, @Ctx() ctx: Context): Promise<FileNode | null> {
    const { userId } = requireUser(ctx);
    const node = await ctx.loaders.file.load(change.fileId);
    return ctx.services.access.authorize(userId, node, 'read').then(() => node, (e) => {
      if ((e as { code?: string })?.code === 'NOT_FOUND') return null;
      throw e;
    });
  }
}

/** A subscription's context lives as long as the subscription: each event gets loaders of its own (no stale files). */
function freshLoaders(ctx: Context): void {
  ctx.loaders = createLoaders(ctx.services);
}

function toChange({ change, cursor }: ChangeEntry): ChangeType {
  return {
    cursor, kind: change.kind as ChangeType['kind'], fileId: change.fileId, path: change.path, fromPath: change.fromPath,
    revision: change.revision, isFolder: change.isFolder, deviceId: change.deviceId, at: change.at,
  };
}

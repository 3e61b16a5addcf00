import { Arg, Ctx, ID, Int, Query, Resolver, Root, Subscription } from 'type-graphql';
import type { ChangeEntry } from '../services/journal';
import { liveChanges, watch } from '../services/live';
import { ChangePageType, ChangeType, UploadSessionType } from '../schema/types';
import { requireUser, type Context } from './context';
import { toSession } from './upload.resolver';

@Resolver()
export class ChangeResolver {
  @Query(() => ChangePageType)
  async changes(
    @Arg('cursor', () => String, { nullable: true }) cursor: string | null,
    @Arg('limit', () => Int, { nullable: true }) limit: number | null,
    @Ctx() ctx: Context,
  ) {
    const { userId } = requireUser(ctx);
    const page = await ctx.services.journal.read([userId], cursor ?? null, limit ?? 100);
    return { changes: page.changes.map(toChange), cursor: page.cursor, hasMore: page.hasMore };
  }

  @Query(() => String)
  latestCursor(@Ctx() ctx: Context) {
    return ctx.services.journal.latest([requireUser(ctx).userId]);
  }

  @Subscription(() => ChangeType, {
    name: 'changes',
    description: 'Replays every change after `cursor`, then streams live.',
    subscribe: ({ args, context }) => {
      const ctx = context as Context;
      const { userId } = requireUser(ctx);
      return liveChanges(ctx.services.journal, ctx.services.bus, [userId], args.cursor ?? null);
    },
  })
  changesFeed(@Root() entry: ChangeEntry, @Arg('cursor', () => String, { nullable: true }) _cursor: string | null) {
    return toChange(entry);
  }

  @Subscription(() => UploadSessionType, {
    subscribe: async ({ args, context }) => {
      const ctx = context as Context;
      const { userId } = requireUser(ctx);
      await ctx.services.uploads.get(userId, args.sessionId);
      return watch(ctx.services.bus, (e) => e.type === 'upload' && e.sessionId === args.sessionId,
        async () => toSession(await ctx.services.uploads.get(userId, args.sessionId)));
    },
  })
  uploadProgress(@Root() session: UploadSessionType, @Arg('sessionId', () => ID) _sessionId: string) {
    return session;
  }
}

function toChange({ change, cursor }: ChangeEntry): ChangeType {
  return {
    cursor, kind: change.kind as ChangeType['kind'], fileId: change.fileId, path: change.path, fromPath: change.fromPath,
    revision: change.revision, isFolder: change.isFolder, deviceId: change.deviceId, at: change.at,
  };
}

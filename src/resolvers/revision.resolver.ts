import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { FileNode } from '../entities';
import { RevisionType } from '../schema/revision-types';
import { FileConnectionType, FileType } from '../schema/types';
import { toConnection } from './connection';
import { requireUser, type Context } from './context';

/** Revisions and the trash. */
@Resolver(() => FileType)
export class RevisionResolver {
  @FieldResolver(() => [RevisionType], { description: 'Every revision of a file, newest first (empty for folders).' })
  async revisions(@Root() file: FileNode, @Ctx() ctx: Context): Promise<RevisionType[]> {
    const revs = await ctx.services.revisions.list(requireUser(ctx).userId, file);
    return revs.map((r) => ({
      revision: r.revision, size: r.size, contentHash: r.contentHash, mimeType: r.mimeType, deviceId: r.deviceId,
      current: r.id === file.currentRevisionId, createdAt: r.createdAt,
    }));
  }

  @Mutation(() => FileType, { description: "Makes an old revision's content current again, as a new revision (no bytes move)." })
  restoreRevision(@Arg('fileId', () => ID) fileId: string, @Arg('revision', () => Int) revision: number, @Ctx() ctx: Context) {
    const p = requireUser(ctx);
    return ctx.services.revisions.restore(p.userId, p.deviceId, fileId, revision);
  }

  @Query(() => FileConnectionType, { description: 'What you deleted (each deletion once), most recent first.' })
  async trash(
    @Arg('first', () => Int, { nullable: true }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: Context,
  ) {
    return toConnection(await ctx.services.trash.list(requireUser(ctx).userId, first, after));
  }

  @Mutation(() => FileType, { description: 'Brings a file or folder back from the trash to its path. A folder whose path holds a live folder again is merged into it (what stands stays). CONFLICT if anything else takes the path.' })
  restoreFile(@Arg('id', () => ID) id: string, @Ctx() ctx: Context) {
    const p = requireUser(ctx);
    return ctx.services.trash.restore(p.userId, p.deviceId, id);
  }

  @Mutation(() => Int, { description: 'Deletes everything in your trash for good; returns how many files and folders went.' })
  emptyTrash(@Ctx() ctx: Context) {
    return ctx.services.trash.empty(requireUser(ctx).userId);
  }
}

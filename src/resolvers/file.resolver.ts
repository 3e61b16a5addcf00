import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { FileNode } from '../entities';
import { ChunkType, FileConnectionType, FileType, UserType } from '../schema/types';
import { requireUser, type Context } from './context';
import { toConnection } from './connection';

@Resolver(() => FileType)
export class FileResolver {
  @Query(() => FileType, { nullable: true })
  async file(@Arg('id', () => ID) id: string, @Ctx() ctx: Context) {
    return ctx.services.files.get(requireUser(ctx).userId, id).catch(nullIfNotFound);
  }

  @Query(() => FileType, { nullable: true })
  fileByPath(@Arg('path') path: string, @Ctx() ctx: Context) {
    return ctx.services.files.findByPath(requireUser(ctx).userId, path);
  }

  @Query(() => FileConnectionType)
  async listFolder(
    @Arg('path') path: string,
    @Arg('first', () => Int, { nullable: true }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: Context,
  ) {
    return toConnection(await ctx.services.files.list(requireUser(ctx).userId, path, first, after));
  }

  @Mutation(() => FileType)
  createFolder(
    @Arg('path') path: string,
    @Arg('folderId', () => ID, { nullable: true, description: "Create inside this folder (yours, or shared with you as EDITOR): `path` is then relative to it." }) folderId: string | null,
    @Ctx() ctx: Context,
  ) {
    const p = requireUser(ctx);
    return ctx.services.files.createFolder(p.userId, p.deviceId, path, folderId);
  }

  @Mutation(() => FileType)
  moveFile(
    @Arg('id', () => ID) id: string,
    @Arg('toPath', { description: "In the file owner's tree, or relative to folderId when given." }) toPath: string,
    @Arg('folderId', () => ID, { nullable: true }) folderId: string | null,
    @Arg('baseRevision', () => Int, { nullable: true, description: 'Files: CONFLICT (nothing moves) unless the file is still at this revision, so a rename never carries an edit the client has not seen.' }) baseRevision: number | null,
    @Ctx() ctx: Context,
  ) {
    const p = requireUser(ctx);
    return ctx.services.files.move(p.userId, p.deviceId, id, toPath, folderId, baseRevision);
  }

  @Mutation(() => FileType, { description: 'Moves a file or folder to the trash. With baseRevision (files): CONFLICT unless the file is still at that revision, so a sync client never trashes an edit it has not seen.' })
  deleteFile(
    @Arg('id', () => ID) id: string,
    @Arg('baseRevision', () => Int, { nullable: true }) baseRevision: number | null,
    @Arg('ifUnchangedSince', () => String, { nullable: true, description: 'A cursor of your change feed (changes / latestCursor): CONFLICT (nothing deleted) if the file or anything inside the folder changed after it.' }) ifUnchangedSince: string | null,
    @Ctx() ctx: Context,
  ) {
    const p = requireUser(ctx);
    return ctx.services.files.delete(p.userId, p.deviceId, id, baseRevision, ifUnchangedSince);
  }

  @FieldResolver(() => String, { description: "Where you see it: your own tree's path, or (a file of someone else's shared with you) its path through your mount of the share." })
  async path(@Root() file: FileNode, @Ctx() ctx: Context) {
    return (await present(file, ctx)).path;
  }

  @FieldResolver(() => String, { description: 'Its name where you see it (a mount may have been renamed by you).' })
  async name(@Root() file: FileNode, @Ctx() ctx: Context) {
    return (await present(file, ctx)).name;
  }

  @FieldResolver(() => UserType)
  owner(@Root() file: FileNode, @Ctx() ctx: Context) {
    return ctx.loaders.user.load(file.ownerId);
  }

  @FieldResolver(() => [ChunkType])
  async chunks(@Root() file: FileNode, @Ctx() ctx: Context) {
    const chunks = file.currentRevisionId ? await ctx.loaders.chunks.load(file.currentRevisionId) : [];
    return chunks.map((c) => ({ ...c, status: 'VERIFIED', updatedAt: c.createdAt }));
  }

  @FieldResolver(() => String, {
    nullable: true,
    description: 'A signed GET of the current revision. expiresIn: seconds, default DOWNLOAD_URL_TTL; more than DOWNLOAD_URL_MAX_TTL (default 3600) is clamped to it, less than 1 is BAD_USER_INPUT. '
      + 'On the local store the URL stops working as soon as the access it was minted under ends (this device signed out, the share removed, the file trashed); '
      + 'on S3/GCS it works until it expires.',
  })
  downloadUrl(@Root() file: FileNode, @Arg('expiresIn', () => Int, { nullable: true }) expiresIn: number | null, @Ctx() ctx: Context) {
    return ctx.services.files.downloadUrl(file, expiresIn, { deviceId: requireUser(ctx).deviceId });
  }

  @FieldResolver(() => String, {
    nullable: true,
    description: 'A folder: a URL (relative to the server, valid 5 minutes) that downloads it as one zip, streamed, entries named by their path below it. '
      + 'Opening it checks your access again (this device signed in, the folder still readable by you). Null for a file.',
  })
  zipUrl(@Root() file: FileNode, @Ctx() ctx: Context) {
    const user = requireUser(ctx);
    return ctx.services.folderZips.url(user.userId, user.deviceId, file);
  }
}

/**
 * A node as the caller sees it: own nodes (and callers without a principal, such as public
 * links) as they are; another owner's node through the caller's mounts (one query per request).
 * Without a mount covering it (a public link's subtree), the owner's path.
 */
async function present(file: FileNode & { presented?: { path: string; name: string } }, ctx: Context): Promise<{ path: string; name: string }> {
  if (file.presented) return file.presented;
  const userId = ctx.principal?.userId;
  if (!userId || file.ownerId === userId) return { path: file.path, name: file.name };
  return (await ctx.loaders.mountIndex.load(userId)).view(file) ?? { path: file.path, name: file.name };
}

function nullIfNotFound(e: { code?: string }): null {
  if (e?.code === 'NOT_FOUND') return null;
  throw e;
}

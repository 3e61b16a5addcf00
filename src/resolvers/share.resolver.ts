import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { FileNode, Share, ShareLink } from '../entities';
import { AppError } from '../services/errors';
import type { CreatedLink } from '../services/share-links';
import { ShareRoleEnum } from '../schema/enums';
import { BigIntScalar, DateTimeScalar } from '../schema/scalars';
import { ShareLinkType } from '../schema/share-types';
import { FileConnectionType, FileType, ShareType, UserType } from '../schema/types';
import { toConnection } from './connection';
import { requireUser, type Context } from './context';

/** Sharing with users: shareFile, unshare, sharedWithMe, and the Share type's links. */
@Resolver(() => ShareType)
export class ShareResolver {
  @Mutation(() => ShareType, { description: 'Shares a file or folder (owner only); sharing again changes the role. Unknown email: NOT_FOUND (reason USER_NOT_FOUND).' })
  shareFile(
    @Arg('fileId', () => ID) fileId: string,
    @Arg('email') email: string,
    @Arg('role', () => ShareRoleEnum) role: ShareRoleEnum,
    @Ctx() ctx: Context,
  ) {
    const p = requireUser(ctx);
    return ctx.services.sharing.share(p.userId, p.deviceId, fileId, email, role);
  }

  @Mutation(() => Boolean, { description: "Removes a share (the file's owner, or the grantee leaving it); effective immediately." })
  unshare(@Arg('shareId', () => ID) shareId: string, @Ctx() ctx: Context) {
    const p = requireUser(ctx);
    return ctx.services.sharing.unshare(p.userId, p.deviceId, shareId);
  }

  @Query(() => FileConnectionType, { description: 'Files and folders shared with the caller, each once; `edges.share` has the role and who shared it.' })
  async sharedWithMe(
    @Arg('first', () => Int, { nullable: true }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: Context,
  ) {
    const page = await ctx.services.sharing.sharedWithMe(requireUser(ctx).userId, first, after);
    return {
      edges: page.items.map(({ cursor, node }) => ({ cursor, node: node.file, share: node.share })),
      pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.endCursor },
    };
  }

  @FieldResolver(() => FileType)
  async file(@Root() share: Share, @Ctx() ctx: Context) {
    const file = await ctx.loaders.file.load(share.fileId);
    if (!file) throw new AppError('NOT_FOUND', 'file not found');
    return file;
  }

  @FieldResolver(() => UserType, { description: 'Who the file is shared with.' })
  user(@Root() share: Share, @Ctx() ctx: Context) {
    return ctx.loaders.user.load(share.userId);
  }

  @FieldResolver(() => UserType, { description: "Who shared it (the file's owner)." })
  sharedBy(@Root() share: Share, @Ctx() ctx: Context) {
    return ctx.loaders.user.load(share.ownerId);
  }
}

/** Sharing-related fields and operations on files. */
@Resolver(() => FileType)
export class FileSharingResolver {
  @Query(() => FileConnectionType, { description: 'Lists a folder by id: your own, or one shared with you (or inside one).' })
  async listFolderById(
    @Arg('id', () => ID) id: string,
    @Arg('first', () => Int, { nullable: true }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: Context,
  ) {
    return toConnection(await ctx.services.files.listById(requireUser(ctx).userId, id, first, after));
  }

  @FieldResolver(() => [ShareType], { description: "Shares of this very file or folder (not inherited ones): all of them for the owner, the caller's own otherwise." })
  async shares(@Root() file: FileNode, @Ctx() ctx: Context) {
    const { userId } = requireUser(ctx);
    return ctx.services.sharing.visibleShares(userId, file, await ctx.loaders.shares.load(file.id));
  }

  @FieldResolver(() => [ShareLinkType], { description: 'Live public links of the file (owner only; empty for others).' })
  async shareLinks(@Root() file: FileNode, @Ctx() ctx: Context) {
    const { userId } = requireUser(ctx);
    return ctx.services.shareLinks.visibleLinks(userId, file, await ctx.loaders.shareLinks.load(file.id)).map((l) => toLink(l, null));
  }
}

/** Public links. */
@Resolver(() => ShareLinkType)
export class ShareLinkResolver {
  @Mutation(() => ShareLinkType, { description: 'A public link to a file (owner only). Its `url` is shown only here.' })
  async createShareLink(
    @Arg('fileId', () => ID) fileId: string,
    @Arg('expiresAt', () => DateTimeScalar, { nullable: true }) expiresAt: Date | null,
    @Arg('password', () => String, { nullable: true }) password: string | null,
    @Ctx() ctx: Context,
  ) {
    const created: CreatedLink = await ctx.services.shareLinks.create(requireUser(ctx).userId, fileId, expiresAt, password);
    return toLink(created.link, created.token, ctx.publicUrl);
  }

  @Mutation(() => Boolean, { description: 'Revokes a public link; true if it was live.' })
  revokeShareLink(@Arg('id', () => ID) id: string, @Ctx() ctx: Context) {
    return ctx.services.shareLinks.revoke(requireUser(ctx).userId, id);
  }

  @FieldResolver(() => FileType)
  async file(@Root() link: ShareLinkType, @Ctx() ctx: Context) {
    return ctx.services.files.get(requireUser(ctx).userId, link.fileId);
  }
}

/** Account fields only the caller sees about themselves. */
@Resolver(() => UserType)
export class AccountResolver {
  @FieldResolver(() => BigIntScalar, { nullable: true, description: "Bytes stored: the sizes of your live files' current revisions. Null for other users." })
  async usage(@Root() user: UserType, @Ctx() ctx: Context) {
    return ctx.principal?.userId === user.id ? ctx.services.quota.usage(user.id) : null;
  }

  @FieldResolver(() => BigIntScalar, { nullable: true, description: 'Your storage quota in bytes. Null for other users.' })
  async quotaBytes(@Root() user: UserType, @Ctx() ctx: Context) {
    return ctx.principal?.userId === user.id ? ctx.services.quota.quota(user.id) : null;
  }
}


/** `url` is absolute when the server knows its public address (PUBLIC_URL or the request's Host). */
function toLink(link: ShareLink, token: string | null, base = ''): ShareLinkType {
  return {
    id: link.id, url: token ? `${base}/s/${token}` : null, expiresAt: link.expiresAt, hasPassword: !!link.passwordHash,
    createdAt: link.createdAt, fileId: link.fileId,
  };
}

import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { BigIntScalar, DateTimeScalar } from './scalars';
import type { PresignedPart } from '../services/uploads';
import { ChangeKindEnum, ChunkStatusEnum, FileStatusEnum, ShareRoleEnum, UploadStatusEnum } from './enums';

@ObjectType('User')
export class UserType {
  @Field(() => ID) id: string;
  @Field() email: string;
  @Field(() => String, { nullable: true }) name: string | null;
}

@ObjectType('Device', { description: 'A signed-in client (each signUp / signIn is one); its tokens die with it.' })
export class DeviceType {
  @Field(() => ID) id: string;
  @Field(() => String, { nullable: true }) name: string | null;
  @Field(() => DateTimeScalar, { description: 'When it signed in.' }) createdAt: Date;
  @Field(() => DateTimeScalar, { nullable: true, description: 'When it was signed out (revokeDevice, signOut); null while signed in.' }) revokedAt: Date | null;
  @Field(() => DateTimeScalar, { nullable: true, description: 'When it last made a request (to the minute); null if never since this was recorded.' }) lastSeenAt: Date | null;
  @Field({ description: 'Whether this is the device of the token making the request (in AuthPayload: the new one).' }) current: boolean;
}

@ObjectType('AuthPayload')
export class AuthPayloadType {
  @Field() token: string;
  @Field(() => UserType) user: UserType;
  @Field(() => DeviceType) device: DeviceType;
}

@ObjectType('Chunk', { description: 'A verified part of the current revision.' })
export class ChunkType {
  @Field(() => Int) index: number;
  @Field(() => BigIntScalar) offset: number;
  @Field(() => BigIntScalar) size: number;
  @Field() sha256: string;
  @Field(() => ChunkStatusEnum) status: ChunkStatusEnum;
  @Field(() => String, { nullable: true }) etag: string | null;
  @Field(() => DateTimeScalar) updatedAt: Date;
}

@ObjectType('File')
export class FileType {
  @Field(() => ID) id: string;
  @Field() name: string;
  @Field() path: string;
  @Field() isFolder: boolean;
  @Field(() => BigIntScalar) size: number;
  @Field(() => String, { nullable: true }) mimeType: string | null;
  @Field(() => String, { nullable: true }) contentHash: string | null;
  @Field(() => FileStatusEnum) status: FileStatusEnum;
  @Field(() => Int) revision: number;
  @Field(() => DateTimeScalar) createdAt: Date;
  @Field(() => DateTimeScalar) updatedAt: Date;
  @Field(() => DateTimeScalar, { nullable: true }) deletedAt: Date | null;
  ownerId: string;
  currentRevisionId: string | null;
}

@ObjectType('Share', { description: 'A file or folder shared with `user`; a folder share covers everything inside, also what is added later.' })
export class ShareType {
  @Field(() => ID) id: string;
  @Field(() => ShareRoleEnum) role: ShareRoleEnum;
  @Field(() => DateTimeScalar) createdAt: Date;
  fileId: string;
  userId: string;
  ownerId: string;
}

@ObjectType('FileEdge')
export class FileEdgeType {
  @Field() cursor: string;
  @Field(() => FileType) node: FileType;
  @Field(() => ShareType, { nullable: true, description: 'In sharedWithMe: the share (role, sharedBy) that gives access to the node.' })
  share?: ShareType | null;
}

@ObjectType('PageInfo')
export class PageInfoType {
  @Field() hasNextPage: boolean;
  @Field(() => String, { nullable: true }) endCursor: string | null;
}

@ObjectType('FileConnection')
export class FileConnectionType {
  @Field(() => [FileEdgeType]) edges: FileEdgeType[];
  @Field(() => PageInfoType) pageInfo: PageInfoType;
}

@ObjectType('Header')
export class HeaderType {
  @Field() name: string;
  @Field() value: string;
}

@ObjectType('PartUpload', { description: 'One part of an upload: where to PUT it (unless verified) and its state.' })
export class PartUploadType {
  @Field(() => Int) partNumber: number;
  @Field(() => BigIntScalar) offset: number;
  @Field(() => BigIntScalar) size: number;
  @Field() sha256: string;
  @Field(() => ChunkStatusEnum) status: ChunkStatusEnum;
  @Field(() => String, { nullable: true, description: 'Absolute, or relative to this server. Null once verified.' }) url?: string | null;
  @Field() method?: string;
  @Field(() => [HeaderType], { description: 'Send exactly these headers with the PUT.' }) headers?: HeaderType[];
  @Field(() => DateTimeScalar, { nullable: true }) urlExpiresAt?: Date | null;
  /** Mints the PUT these four fields show, once (see PartUploadResolver). */
  presigned: () => Promise<PresignedPart | null>;
}

@ObjectType('UploadSession')
export class UploadSessionType {
  @Field(() => ID) id: string;
  @Field() path: string;
  @Field(() => BigIntScalar) size: number;
  @Field(() => BigIntScalar, { description: 'Size of every part but the last when they are alike (fixed parts); 0 for content-defined parts of varying sizes.' }) partSize: number;
  @Field() contentHash: string;
  @Field(() => UploadStatusEnum) status: UploadStatusEnum;
  @Field(() => [PartUploadType]) parts?: PartUploadType[];
  @Field(() => DateTimeScalar) expiresAt: Date;
  fileId: string | null;
  /** The tree written to (a mount's owner for a member's upload into it). */
  ownerId?: string;
  /** Reads the parts (see UploadResolver.parts). */
  loadParts: () => Promise<PartUploadType[]>;
}

@ObjectType('UploadPlan')
export class UploadPlanType {
  @Field(() => BigIntScalar, { description: 'Fixed part size for this file (a client may cut content-defined parts instead: see PartInput.size).' }) partSize: number;
  @Field(() => Int) partCount: number;
  @Field(() => Int) maxParts: number;
  @Field(() => BigIntScalar) minPartSize: number;
  @Field(() => BigIntScalar) maxSize: number;
  @Field({ description: 'Hash of each part and of the content: SHA256.' }) checksumAlgorithm: string;
  @Field({ description: 'Per-part checksum the store enforces: SHA256, MD5 (send PartInput.md5) or NONE.' }) partChecksum: string;
  @Field({ description: 'A file of at most minPartSize bytes goes to the store in one PUT, with no multipart session (S3): what makes beginUploads / completeUploads worth it.' }) singlePut: boolean;
}

@ObjectType('Change')
export class ChangeType {
  @Field() cursor: string;
  @Field(() => ChangeKindEnum) kind: ChangeKindEnum;
  @Field(() => ID) fileId: string;
  @Field() path: string;
  @Field(() => String, { nullable: true }) fromPath: string | null;
  @Field(() => Int) revision: number;
  @Field() isFolder: boolean;
  @Field(() => ID, { nullable: true }) deviceId: string | null;
  @Field(() => DateTimeScalar) at: Date;
}

@ObjectType('ChangePage')
export class ChangePageType {
  @Field(() => [ChangeType]) changes: ChangeType[];
  @Field() cursor: string;
  @Field() hasMore: boolean;
}

@InputType('PartInput')
export class PartInput {
  @Field(() => Int) partNumber: number;
  @Field(() => BigIntScalar, { description: 'Any size within the store\'s rules: every part but the last at least UploadPlan.minPartSize, no part larger than the store takes, at most UploadPlan.maxParts parts tiling the file (the plan\'s fixed parts, or content-defined ones).' }) size: number;
  @Field({ description: 'SHA-256 of the part, lowercase hex.' }) sha256: string;
  @Field(() => String, { nullable: true, description: 'MD5 of the part, lowercase hex (needed when UploadPlan.partChecksum is MD5).' }) md5?: string | null;
}

@InputType('BeginUploadInput')
export class BeginUploadInput {
  @Field() path: string;
  @Field(() => BigIntScalar) size: number;
  @Field(() => String, { nullable: true }) mimeType?: string | null;
  @Field({ description: 'SHA-256 of the concatenated binary part digests, lowercase hex.' }) contentHash: string;
  @Field(() => [PartInput]) parts: PartInput[];
  @Field(() => Int, { nullable: true, description: 'The revision this upload replaces; CONFLICT if the file has moved on.' }) baseRevision?: number | null;
  @Field(() => ID, { nullable: true, description: "Upload into this folder (yours, or shared with you as EDITOR): `path` is then relative to it, in the folder owner's tree." })
  folderId?: string | null;
}

@InputType('ConfirmPartInput')
export class ConfirmPartInput {
  @Field(() => Int) partNumber: number;
  @Field() etag: string;
}

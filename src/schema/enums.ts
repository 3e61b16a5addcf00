import { registerEnumType } from 'type-graphql';

export enum UploadStatusEnum { ACTIVE = 'ACTIVE', COMPLETED = 'COMPLETED', ABORTED = 'ABORTED', EXPIRED = 'EXPIRED' }
export enum ChunkStatusEnum { PENDING = 'PENDING', UPLOADED = 'UPLOADED', VERIFIED = 'VERIFIED' }
export enum FileStatusEnum { UPLOADING = 'UPLOADING', AVAILABLE = 'AVAILABLE', DELETED = 'DELETED' }
export enum ShareRoleEnum { VIEWER = 'VIEWER', EDITOR = 'EDITOR' }
export enum ChangeKindEnum {
  CREATED = 'CREATED', UPDATED = 'UPDATED', MOVED = 'MOVED', DELETED = 'DELETED', SHARED = 'SHARED', UNSHARED = 'UNSHARED', RESTORED = 'RESTORED',
}

registerEnumType(UploadStatusEnum, { name: 'UploadStatus' });
registerEnumType(ChunkStatusEnum, { name: 'ChunkStatus' });
registerEnumType(FileStatusEnum, { name: 'FileStatus' });
registerEnumType(ShareRoleEnum, { name: 'ShareRole' });
registerEnumType(ChangeKindEnum, { name: 'ChangeKind' });

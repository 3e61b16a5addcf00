import type { DataSource } from 'typeorm';
import type { StorageAdapter } from '../storage/types';
import { AccessService } from './access';
import { AuthService } from './auth';
import type { EventBus } from './events';
import { FileService } from './files';
import { Janitor } from './janitor';
import { JournalService } from './journal';
import { UploadService, type UploadSettings } from './uploads';

export interface ServiceSettings extends UploadSettings {
  jwtSecret: string;
  downloadUrlTtl: number;
}

/** Every domain service, wired once per process. */
export interface Services {
  ds: DataSource;
  storage: StorageAdapter;
  bus: EventBus;
  auth: AuthService;
  access: AccessService;
  journal: JournalService;
  files: FileService;
  uploads: UploadService;
  janitor: Janitor;
}

export function createServices(ds: DataSource, storage: StorageAdapter, bus: EventBus, s: ServiceSettings): Services {
  const auth = new AuthService(ds, s.jwtSecret);
  const access = new AccessService(ds);
  const journal = new JournalService(ds, bus);
  const files = new FileService(ds, storage, access, journal, s.downloadUrlTtl);
  const uploads = new UploadService(ds, storage, access, files, journal, bus, {
    partUrlTtl: s.partUrlTtl, sessionTtl: s.sessionTtl, minPartSize: s.minPartSize, maxFileSize: s.maxFileSize,
  });
  const janitor = new Janitor(ds, storage, uploads);
  return { ds, storage, bus, auth, access, journal, files, uploads, janitor };
}

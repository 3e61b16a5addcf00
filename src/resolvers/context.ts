import DataLoader from 'dataloader';
import { In } from 'typeorm';
import { User } from '../entities';
import { AppError } from '../services/errors';
import type { Principal } from '../services/auth';
import type { Services } from '../services';

/** Per-request state: the caller, the services and request-scoped DataLoaders. */
export interface Context {
  principal: Principal | null;
  services: Services;
  loaders: Loaders;
}

export interface Loaders {
  user: DataLoader<string, User | null>;
}

export function createLoaders(services: Services): Loaders {
  return {
    user: new DataLoader(async (ids) => {
      const rows = await services.ds.getRepository(User).findBy({ id: In([...ids]) });
      return ids.map((id) => rows.find((u) => u.id === id) ?? null);
    }),
  };
}

export function requireUser(ctx: Context): Principal {
  if (!ctx.principal) throw new AppError('UNAUTHENTICATED', 'sign in first');
  return ctx.principal;
}

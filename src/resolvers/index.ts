import 'reflect-metadata';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import { buildSchema } from 'type-graphql';
import { DateTimeScalar } from '../schema/scalars';
import { AuthResolver } from './auth.resolver';
import { ChangeResolver } from './change.resolver';
import { FileResolver } from './file.resolver';
import { PartUploadResolver, UploadResolver } from './upload.resolver';
import { RevisionResolver } from './revision.resolver';
import { UploadBatchResolver } from './upload-batch.resolver';
import { AccountResolver, FileSharingResolver, ShareLinkResolver, ShareResolver } from './share.resolver';

export const resolvers = [AuthResolver, FileResolver, UploadResolver, UploadBatchResolver, PartUploadResolver, ChangeResolver, ShareResolver, FileSharingResolver, ShareLinkResolver, AccountResolver, RevisionResolver] as const;

/** Subscriptions here supply their own `subscribe`; type-graphql still wants a pubSub. */
const noPubSub = {
  publish: () => { throw new GraphQLError('topics are not used'); },
  subscribe: () => { throw new GraphQLError('topics are not used'); },
};

export function createSchema(): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers: [...resolvers],
    scalarsMap: [{ type: Date, scalar: DateTimeScalar }],
    pubSub: noPubSub as never,
    validate: false,
    emitSchemaFile: false,
  });
}


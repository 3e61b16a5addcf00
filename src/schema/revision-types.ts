import { Field, Int, ObjectType } from 'type-graphql';
import { BigIntScalar, DateTimeScalar } from './scalars';

@ObjectType('Revision', { description: 'One immutable version of a file. Restore one with restoreRevision.' })
export class RevisionType {
  @Field(() => Int) revision: number;
  @Field(() => BigIntScalar) size: number;
  @Field() contentHash: string;
  @Field(() => String, { nullable: true }) mimeType: string | null;
  @Field(() => String, { nullable: true, description: 'The device that wrote it.' }) deviceId: string | null;
  @Field({ description: "Whether this is the file's current revision." }) current: boolean;
  @Field(() => DateTimeScalar) createdAt: Date;
}

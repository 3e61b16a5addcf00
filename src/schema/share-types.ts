import { Field, ID, ObjectType } from 'type-graphql';
import { DateTimeScalar } from './scalars';

@ObjectType('ShareLink', { description: 'A public link to a file (GET <url> redirects to a short-lived signed download URL) or a folder (GET <url> lists it, each file downloadable, and <url>/zip downloads it all as one zip).' })
export class ShareLinkType {
  @Field(() => ID) id: string;
  @Field(() => String, { nullable: true, description: 'The absolute URL <PUBLIC_URL or this request\'s host>/s/<token>. Only in createShareLink\'s answer: the token is stored hashed.' })
  url: string | null;
  @Field(() => DateTimeScalar, { nullable: true }) expiresAt: Date | null;
  @Field({ description: 'Opening the link needs a password (X-Share-Password header, ?password= or POST form field).' }) hasPassword: boolean;
  @Field(() => DateTimeScalar) createdAt: Date;
  fileId: string;
}

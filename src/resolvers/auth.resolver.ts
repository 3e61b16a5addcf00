import { Arg, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import { AuthPayloadType, UserType } from '../schema/types';
import { AppError } from '../services/errors';
import { requireUser, type Context } from './context';

@Resolver()
export class AuthResolver {
  @Mutation(() => AuthPayloadType)
  signUp(
    @Arg('email') email: string,
    @Arg('password') password: string,
    @Arg('name', () => String, { nullable: true }) name: string | null,
    @Arg('deviceName', () => String, { nullable: true }) deviceName: string | null,
    @Ctx() ctx: Context,
  ) {
    return ctx.services.auth.signUp(email, password, name ?? null, deviceName ?? null);
  }

  @Mutation(() => AuthPayloadType)
  signIn(
    @Arg('email') email: string,
    @Arg('password') password: string,
    @Arg('deviceName', () => String, { nullable: true }) deviceName: string | null,
    @Ctx() ctx: Context,
  ) {
    return ctx.services.auth.signIn(email, password, deviceName ?? null, ctx.ip ?? '');
  }

  @Query(() => UserType)
  async me(@Ctx() ctx: Context) {
    const user = await ctx.loaders.user.load(requireUser(ctx).userId);
    if (!user) throw new AppError('UNAUTHENTICATED', 'account no longer exists');
    return user;
  }
}

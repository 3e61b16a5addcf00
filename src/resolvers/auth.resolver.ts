import { Arg, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import type { Device } from '../entities';
import { AuthPayloadType, DeviceType, UserType } from '../schema/types';
import type { AuthResult } from '../services/auth';
import { AppError } from '../services/errors';
import { requireUser, type Context } from './context';

@Resolver()
export class AuthResolver {
  @Mutation(() => AuthPayloadType)
  async signUp(
    @Arg('email') email: string,
    @Arg('password') password: string,
    @Arg('name', () => String, { nullable: true }) name: string | null,
    @Arg('deviceName', () => String, { nullable: true }) deviceName: string | null,
    @Ctx() ctx: Context,
  ) {
    return toAuthPayload(await ctx.services.auth.signUp(email, password, name ?? null, deviceName ?? null, ctx.ip ?? ''));
  }

  @Mutation(() => AuthPayloadType)
  async signIn(
    @Arg('email') email: string,
    @Arg('password') password: string,
    @Arg('deviceName', () => String, { nullable: true }) deviceName: string | null,
    @Ctx() ctx: Context,
    @Arg('deviceId', () => String, { nullable: true, description: "Sign in again as this device (one of yours, not signed out; e.g. a browser keeping its id) instead of adding a device; otherwise a new one is made." }) deviceId?: string | null,
  ) {
    return toAuthPayload(await ctx.services.auth.signIn(email, password, deviceName ?? null, ctx.ip ?? '', deviceId ?? null));
  }

  @Query(() => UserType)
  async me(@Ctx() ctx: Context) {
    const user = await ctx.loaders.user.load(requireUser(ctx).userId);
    if (!user) throw new AppError('UNAUTHENTICATED', 'account no longer exists');
    return user;
  }

  @Query(() => [DeviceType], { description: 'Your devices, signed out ones too (revokedAt), newest first; `current` is the one asking.' })
  async devices(@Ctx() ctx: Context) {
    const { userId, deviceId } = requireUser(ctx);
    return (await ctx.services.auth.devices(userId)).map((d) => toDevice(d, deviceId));
  }

  @Mutation(() => Boolean, {
    description: 'Signs one of your devices out (e.g. a lost phone): its next request is UNAUTHENTICATED and its subscriptions end at once. False if it already was signed out.',
  })
  revokeDevice(@Arg('id', () => ID) id: string, @Ctx() ctx: Context) {
    return ctx.services.auth.revokeDevice(requireUser(ctx).userId, id);
  }

  @Mutation(() => Boolean, { description: 'Signs this device out: revokeDevice of the current device.' })
  signOut(@Ctx() ctx: Context) {
    const { userId, deviceId } = requireUser(ctx);
    return ctx.services.auth.revokeDevice(userId, deviceId);
  }
}

function toDevice(d: Device, currentDeviceId: string): DeviceType {
  return { id: d.id, name: d.name, createdAt: d.createdAt, revokedAt: d.revokedAt, lastSeenAt: d.lastSeenAt, current: d.id === currentDeviceId };
}

function toAuthPayload({ token, user, device }: AuthResult): AuthPayloadType {
  return { token, user, device: toDevice(device, device.id) };
}

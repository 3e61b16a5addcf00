import crypto from 'node:crypto';
import { promisify } from 'node:util';
import jwt from 'jsonwebtoken';
import { IsNull, type DataSource, type EntityManager } from 'typeorm';
import { Device, JournalHead, User } from '../entities';
import { AppError, badInput, notFound } from './errors';
import type { EventBus } from './events';
import type { RateLimiter } from './rate-limit';

const scrypt = promisify(crypto.scrypt) as (pw: string, salt: Buffer, len: number, opts: crypto.ScryptOptions) => Promise<Buffer>;
const SCRYPT = { N: 16384, r: 8, p: 1 };

/** The authenticated caller of a request. */
export interface Principal {
  userId: string;
  deviceId: string;
}

export interface AuthResult {
  token: string;
  user: User;
  device: Device;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Longest user and device names, in characters (the columns' length). */
export const MAX_NAME_LENGTH = 200;
/** Longest email address (RFC 5321's 320, the column's length) and password accepted. */
export const MAX_EMAIL_LENGTH = 320;
export const MAX_PASSWORD_LENGTH = 1024;

/**
 * A user or device name as stored: trimmed, null when empty. Longer than MAX_NAME_LENGTH
 * characters or holding control characters: BAD_USER_INPUT naming `field`.
 */
export function checkName(value: string | null | undefined, field: string): string | null {
  const name = value?.trim() || null;
  if (name === null) return null;
  if ([...name].length > MAX_NAME_LENGTH) throw badInput(`${field} longer than ${MAX_NAME_LENGTH} characters`, { field });
  if (/[\u0000-\u001f\u007f]/.test(name)) throw badInput(`${field} holds control characters`, { field });
  return name;
}

/** Sign-up, sign-in (scrypt), device-bound JWTs and their revocation. */
export class AuthService {
  /**
   * The signing key as a KeyObject, made once: given a string, jsonwebtoken first tries it as a
   * PEM public key (and throws) on every verify, ~8% of the server's CPU under small uploads.
   */
  private readonly jwtKey: crypto.KeyObject;

  constructor(
    private readonly ds: DataSource,
    jwtSecret: string,
    private readonly tokenTtlSeconds = 90 * 24 * 3600,
    private readonly signInLimiter?: RateLimiter,
    /** Hears revocations, so live feeds of a signed-out device end at once (on every instance). */
    private readonly bus?: EventBus,
    /** Counts every signUp per client address (`clientKey`). */
    private readonly signUpLimiter?: RateLimiter,
  ) {
    this.jwtKey = crypto.createSecretKey(Buffer.from(jwtSecret));
  }

  /**
   * Creates an account and its first device in one transaction (a refusal writes nothing).
   * BAD_USER_INPUT (with `field`): an invalid email or one over MAX_EMAIL_LENGTH, a password under
   * 8 or over MAX_PASSWORD_LENGTH characters, a name or device name refused by `checkName`.
   * CONFLICT: the email has an account. RATE_LIMITED (with `retryAfterSeconds`): more than the
   * limiter's `max` sign-ups from `clientKey` (the client's address) in its window; every valid
   * attempt counts, successful or not. Without a `clientKey` (in-process callers) no limit applies.
   */
  async signUp(email: string, password: string, name: string | null, deviceName: string | null, clientKey?: string): Promise<AuthResult> {
    const normalised = String(email).trim().toLowerCase();
    if (!EMAIL.test(normalised) || normalised.length > MAX_EMAIL_LENGTH) throw badInput('invalid email address', { field: 'email' });
    if (typeof password !== 'string' || password.length < 8) throw badInput('password must have at least 8 characters', { field: 'password' });
    if (password.length > MAX_PASSWORD_LENGTH) throw badInput('password too long', { field: 'password' });
    const userName = checkName(name, 'name');
    const device = checkName(deviceName, 'deviceName');
    if (clientKey !== undefined) await this.signUpLimiter?.attempt(clientKey);
    const passwordHash = await hashPassword(password);
    return this.ds.transaction(async (m) => {
      if (await m.findOneBy(User, { email: normalised })) throw new AppError('CONFLICT', 'an account with this email exists');
      const u = await m.save(m.create(User, { email: normalised, name: userName, passwordHash, quotaBytes: null }));
      await m.insert(JournalHead, { namespaceId: u.id, lastSeq: 0 });
      return this.issue(u, device, m);
    }).catch((e) => {
      if (e instanceof AppError) throw e;
      if (/unique|duplicate/i.test(String(e?.message))) throw new AppError('CONFLICT', 'an account with this email exists');
      throw e;
    });
  }

  /**
   * Wrong passwords are rate limited per email and `clientKey` (the client's IP): RATE_LIMITED.
   * `deviceId`: sign in again as that device (a browser that keeps its id, e.g. GraphiQL) when it
   * is one of this user's devices and not signed out; otherwise (unknown, another user's, signed
   * out) a new device is created, as without it. The device's name is kept unless `deviceName` is given.
   */
  async signIn(email: string, password: string, deviceName: string | null, clientKey = '', deviceId?: string | null): Promise<AuthResult> {
    const normalised = String(email).trim().toLowerCase();
    const device = checkName(deviceName, 'deviceName');
    const limitKey = `${normalised}|${clientKey}`;
    await this.signInLimiter?.attempt(limitKey); // counted as a failure until it succeeds
    const user = await this.ds.getRepository(User).findOneBy({ email: normalised });
    const ok = user ? await verifyPassword(password, user.passwordHash) : await verifyPassword(password, DUMMY_HASH);
    if (!user || !ok) throw new AppError('UNAUTHENTICATED', 'wrong email or password');
    await this.signInLimiter?.reset(limitKey);
    const existing = typeof deviceId === 'string' && /^[0-9a-f-]{36}$/i.test(deviceId)
      ? await this.ds.getRepository(Device).findOneBy({ id: deviceId, userId: user.id, revokedAt: IsNull() })
      : null;
    if (existing) {
      if (device !== null) await this.ds.getRepository(Device).update({ id: existing.id }, { name: device });
      return this.tokenFor(user, { ...existing, name: device ?? existing.name });
    }
    return this.issue(user, device);
  }

  /** Resolves a bearer token to its principal; null for a bad, expired or revoked token. */
  async authenticate(token: string): Promise<Principal | null> {
    let claims: jwt.JwtPayload;
    try {
      claims = jwt.verify(token, this.jwtKey, { algorithms: ['HS256'] }) as jwt.JwtPayload;
    } catch {
      return null;
    }
    if (typeof claims.sub !== 'string' || typeof claims.dev !== 'string') return null;
    const device = await this.ds.getRepository(Device).findOneBy({ id: claims.dev, userId: claims.sub });
    if (!device || device.revokedAt) return null;
    await this.touch(device);
    return { userId: claims.sub, deviceId: device.id };
  }

  /** Records that `device` was used, at most once per SEEN_RESOLUTION_MS (one write a minute, not one per request). */
  private async touch(device: Device): Promise<void> {
    const now = Date.now();
    if (device.lastSeenAt && now - device.lastSeenAt.getTime() < SEEN_RESOLUTION_MS) return;
    const repo = this.ds.getRepository(Device);
    const stale = new Date(now - SEEN_RESOLUTION_MS);
    await repo.createQueryBuilder().update().set({ lastSeenAt: new Date(now) })
      .where('id = :id AND (lastSeenAt IS NULL OR lastSeenAt < :stale)', { id: device.id, stale })
      .execute();
  }

  /** The user's devices, signed out ones too (with `revokedAt`), newest first. */
  devices(userId: string): Promise<Device[]> {
    return this.ds.getRepository(Device).find({ where: { userId }, order: { createdAt: 'DESC', id: 'ASC' } });
  }

  /**
   * Signs one of the user's devices out: its tokens stop working at once and its live feeds end
   * (a `device-revoked` event on the bus). A device of someone else is NOT_FOUND, like an unknown
   * one. False if it was already signed out.
   */
  async revokeDevice(userId: string, deviceId: string): Promise<boolean> {
    const repo = this.ds.getRepository(Device);
    if (!(await repo.existsBy({ id: deviceId, userId }))) throw notFound('device');
    const r = await repo.update({ id: deviceId, userId, revokedAt: IsNull() }, { revokedAt: new Date() });
    // also when it already was revoked: a wake-up lost the first time costs nothing to repeat
    await this.bus?.publish({ type: 'device-revoked', userId, deviceId });
    return (r.affected ?? 0) > 0;
  }

  /** A new device of `user` (named as `checkName` returned) and its token; in `m`'s transaction when given. */
  private async issue(user: User, deviceName: string | null, m: EntityManager = this.ds.manager): Promise<AuthResult> {
    const device = await m.getRepository(Device).save({ userId: user.id, name: deviceName, revokedAt: null, lastSeenAt: new Date() });
    return this.tokenFor(user, device);
  }

  private tokenFor(user: User, device: Device): AuthResult {
    const token = jwt.sign({ dev: device.id }, this.jwtKey, { subject: user.id, algorithm: 'HS256', expiresIn: this.tokenTtlSeconds });
    return { token, user, device };
  }
}

/** How precisely `Device.lastSeenAt` follows use. */
export const SEEN_RESOLUTION_MS = 60_000;

export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.randomBytes(16);
  const hash = await scrypt(password, salt, 32, SCRYPT);
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64'), hash.toString('base64')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, N, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt') return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = await scrypt(String(password), Buffer.from(salt, 'base64'), expected.length, { N: +N, r: +r, p: +p });
  return crypto.timingSafeEqual(expected, actual);
}

const DUMMY_HASH = 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';

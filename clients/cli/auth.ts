import type { Command } from 'commander';
import { hostname } from 'node:os';
import { accountInfo } from '../sdk/links';
import type { AuthPayload } from '../sdk/types';
import { loadConfig, saveConfig } from './config';
import type { CliContext } from './context';
import { namingPath, printJson } from './help';
import { formatBytes } from './progress';
import { createPrompter } from './prompt';

/** `signup`, `login`, `logout`, `whoami`, `devices`, `revoke-device`. */
export function registerAuthCommands(program: Command, ctx: CliContext): void {
  program
    .command('signup')
    .description('create an account, log in, and make this server the current one (later commands need no --server)')
    .option('--email <email>', 'account email (asked for when missing)')
    .option('--password <password>', 'password, 8 to 1024 characters (asked for, hidden, when missing)')
    .option('--name <name>', 'display name')
    .option('--device <name>', 'name of this device (shown by `devices` and in conflicted copies; default tessera-cli@<host>)')
    .action(async (o: { email?: string; password?: string; name?: string; device?: string }) => {
      const { email, password } = await credentials(ctx, o);
      const auth = await ctx.anonymousClient().signUp(email, password, { name: o.name, deviceName: deviceName(ctx, o.device) });
      await remember(ctx, auth);
    });

  program
    .command('login')
    .description('log in, save the token, and make this server the current one (later commands need no --server)')
    .option('--email <email>', 'account email (asked for when missing)')
    .option('--password <password>', 'password (asked for, hidden, when missing)')
    .option('--device <name>', 'name of this device (shown by `devices` and in conflicted copies; default tessera-cli@<host>)')
    .action(async (o: { email?: string; password?: string; device?: string }) => {
      const { email, password } = await credentials(ctx, o);
      const auth = await ctx.anonymousClient().signIn(email, password, { deviceName: deviceName(ctx, o.device) });
      await remember(ctx, auth);
    });

  program
    .command('logout')
    .description('sign this device out on the server and forget its token')
    .action(async () => {
      const config = await loadConfig(ctx.io.env);
      if (config.profiles[ctx.server]) {
        // the token stops working on the server too; if the server cannot be told, it is still forgotten here
        await (await ctx.client()).signOut().catch((e: { code?: string; message?: string }) => {
          const why = [e?.code, e?.message].filter(Boolean).join(': ');
          ctx.io.stderr.write(`warning: could not sign this device out on the server (${why}); revoke it from another device with \`tessera revoke-device\`\n`);
        });
      }
      delete config.profiles[ctx.server];
      if (config.current === ctx.server) delete config.current;
      await saveConfig(ctx.io.env, config);
      ctx.io.stdout.write(`logged out of ${ctx.server}\n`);
    });

  program
    .command('devices')
    .description('list the devices signed in to your account (* = this one)')
    .option('--json', 'print JSON (id, name, createdAt, revokedAt, lastSeenAt, current) for scripts')
    .action(async (o: { json?: boolean }) => {
      const list = await (await ctx.client()).devices();
      if (o.json) return printJson((s) => ctx.io.stdout.write(s), list);
      for (const d of list) {
        const state = d.revokedAt ? `signed out ${d.revokedAt.slice(0, 10)}` : 'signed in';
        const seen = d.lastSeenAt ? `seen ${d.lastSeenAt.replace('T', ' ').slice(0, 16)}` : 'never seen';
        ctx.io.stdout.write(`${d.current ? '*' : ' '} ${d.id}  ${d.createdAt.slice(0, 10)}  ${state.padEnd(21)}  ${seen.padEnd(21)}  ${d.name ?? ''}\n`);
      }
    });

  program
    .command('revoke-device')
    .description('sign one of your devices out (e.g. a lost laptop): its token stops working at once')
    .argument('<id>', 'device id, as `tessera devices` lists it')
    .action(async (id: string) => {
      const client = await ctx.client();
      const changed = await namingPath(id, () => client.revokeDevice(id), 'device');
      ctx.io.stdout.write(changed ? `signed out device ${id}\n` : `device ${id} was already signed out\n`);
    });

  program
    .command('whoami')
    .description('show the server, the signed-in account, this device and the storage used')
    .option('--json', 'print JSON ({ server, user: { id, email, name, usage, quotaBytes }, device }) for scripts')
    .action(async (o: { json?: boolean }) => {
      const { user, device } = await accountInfo((await ctx.client()).api);
      if (o.json) return printJson((s) => ctx.io.stdout.write(s), { server: ctx.server, user, device });
      const used = Number(user.usage);
      const quota = Number(user.quotaBytes);
      const share = quota > 0 ? ` (${((used / quota) * 100).toFixed(1)}%)` : '';
      ctx.io.stdout.write([
        `server   ${ctx.server}`,
        `account  ${user.email}${user.name ? ` (${user.name})` : ''}`,
        `device   ${device ? `${device.name ?? '(unnamed)'} (${device.id})` : '(unknown)'}`,
        `usage    ${formatBytes(used)} of ${formatBytes(quota)}${share}`,
      ].join('\n') + '\n');
    });
}

async function credentials(ctx: CliContext, o: { email?: string; password?: string }): Promise<{ email: string; password: string }> {
  if (o.email !== undefined && o.password !== undefined) return { email: o.email.trim(), password: o.password };
  const prompt = createPrompter({ input: ctx.io.stdin, output: ctx.promptOutput });
  try {
    const email = o.email ?? (await prompt.ask('email: '));
    const password = o.password ?? (await prompt.ask('password: ', { hidden: true }));
    return { email: email.trim(), password };
  } finally {
    prompt.close();
  }
}

async function remember(ctx: CliContext, auth: AuthPayload): Promise<void> {
  const config = await loadConfig(ctx.io.env);
  config.profiles[ctx.server] = { token: auth.token, email: auth.user.email, deviceId: auth.device.id, deviceName: auth.device.name };
  config.current = ctx.server;
  await saveConfig(ctx.io.env, config);
  ctx.io.stdout.write(`logged in to ${ctx.server} as ${auth.user.email}\n`);
}

function deviceName(ctx: CliContext, flag?: string): string {
  return flag?.trim() || ctx.io.env.TESSERA_DEVICE_NAME || `tessera-cli@${hostname()}`;
}

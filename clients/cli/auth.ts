import type { Command } from 'commander';
import { hostname } from 'node:os';
import type { AuthPayload } from '../sdk/types';
import { loadConfig, saveConfig } from './config';
import type { CliContext } from './context';
import { createPrompter } from './prompt';

/** `signup`, `login`, `logout`, `whoami`. */
export function registerAuthCommands(program: Command, ctx: CliContext): void {
  program
    .command('signup')
    .description('create an account and log in')
    .option('--email <email>')
    .option('--password <password>')
    .option('--name <name>')
    .action(async (o: { email?: string; password?: string; name?: string }) => {
      const { email, password } = await credentials(ctx, o);
      const auth = await ctx.anonymousClient().signUp(email, password, { name: o.name, deviceName: deviceName(ctx) });
      await remember(ctx, auth);
    });

  program
    .command('login')
    .description('log in and save the token')
    .option('--email <email>')
    .option('--password <password>')
    .action(async (o: { email?: string; password?: string }) => {
      const { email, password } = await credentials(ctx, o);
      const auth = await ctx.anonymousClient().signIn(email, password, { deviceName: deviceName(ctx) });
      await remember(ctx, auth);
    });

  program
    .command('logout')
    .description('forget the saved token for this server')
    .action(async () => {
      const config = await loadConfig(ctx.io.env);
      delete config.profiles[ctx.server];
      await saveConfig(ctx.io.env, config);
      ctx.io.stdout.write(`logged out of ${ctx.server}\n`);
    });

  program
    .command('whoami')
    .description('show the signed-in user')
    .action(async () => {
      const me = await (await ctx.client()).me();
      ctx.io.stdout.write(`${me.email}${me.name ? ` (${me.name})` : ''} on ${ctx.server}\n`);
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
  config.profiles[ctx.server] = { token: auth.token, email: auth.user.email };
  await saveConfig(ctx.io.env, config);
  ctx.io.stdout.write(`logged in to ${ctx.server} as ${auth.user.email}\n`);
}

function deviceName(ctx: CliContext): string {
  return ctx.io.env.TESSERA_DEVICE_NAME || `tessera-cli@${hostname()}`;
}

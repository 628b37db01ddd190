/**
 * `tumblerd user add|list|disable|enable|revoke`: users, their allowed services and their first
 * device. Heavy modules (SQLite, crypto) are loaded inside the actions only.
 */
import type { Command } from 'commander';
import { TumblerError } from '../../shared/errors.js';
import { operator, withStore } from './context.js';
import { action, usageErrors } from './exit.js';
import { closeGrantsOption, withBundleOptions, type BundleCliOptions } from './options.js';
import { isoTime, printJson, printTable } from './output.js';

interface UserAddOptions extends BundleCliOptions {
  services?: string;
  device: string;
}

export function registerUserCommands(program: Command, configPath: () => string): void {
  const user = usageErrors(program.command('user')).description('add, list, disable, enable and revoke users');

  withBundleOptions(
    user.command('add')
      .description('add a user with its first device and print the device\'s enrollment bundle')
      .argument('<name>', 'user name: [a-z_] then [a-z0-9_.-], up to 32 characters')
      .option('--services <list>', 'comma-separated services the user may open (default: every configured service)')
      .option('--device <name>', 'name of the first device', 'default'),
  ).action(action(async (name: string, opts: UserAddOptions) => {
    const { enrollDevice, resolveServices } = await import('./enroll.js');
    const { checkDeviceName, checkUserName } = await import('../store/names.js');
    await withStore(configPath(), async (ctx) => {
      const services = resolveServices(ctx.cfg, opts.services);
      await enrollDevice(ctx, {
        user: name,
        device: opts.device,
        mode: 'add',
        auditEvent: 'admin.user.add',
        precheck: async () => {
          checkUserName(name);
          checkDeviceName(opts.device);
          if (await ctx.data.store.getUser(name)) throw new TumblerError('STORE_EXISTS', `user ${name} already exists`);
        },
        createUser: services,
      }, opts);
      process.stderr.write(`added user ${name} (services: ${services.join(', ')}) with device ${opts.device}\n`);
    });
  }));

  user.command('list')
    .description('list users: enabled, services, number of devices')
    .option('--json', 'print JSON')
    .action(action(async (opts: { json?: boolean }) => {
      await withStore(configPath(), async ({ data }) => {
        const users = await data.store.listUsers();
        if (opts.json) {
          printJson(users.map((u) => ({ name: u.name, enabled: u.enabled, services: u.services, devices: u.devices, createdAt: isoTime(u.createdAt) })));
        } else {
          printTable(['USER', 'ENABLED', 'SERVICES', 'DEVICES', 'CREATED'], users.map((u) => [u.name, u.enabled, u.services.join(','), u.devices, isoTime(u.createdAt)]), 'no users');
        }
      });
    }));

  for (const enable of [false, true]) {
    const verb = enable ? 'enable' : 'disable';
    user.command(verb)
      .description(enable ? 'allow a disabled user to knock again' : 'refuse every knock of a user (takes effect in the running daemon within a second); grants already open run out')
      .argument('<name>', 'user name')
      .action(action(async (name: string) => {
        await withStore(configPath(), async ({ data }) => {
          await data.store.setUserEnabled(name, enable);
          await data.store.recordAudit({ event: `admin.user.${verb}`, user: name, result: 'ok', reason: `by ${operator()}` });
          process.stderr.write(`user ${name} ${verb}d (on every gateway sharing this store)\n`);
        });
      }));
  }

  user.command('revoke')
    .description('delete a user with all its devices and sequences; nobody else\'s secret changes')
    .argument('<name>', 'user name')
    .addOption(closeGrantsOption())
    .action(action(async (name: string, opts: { closeGrants?: boolean }) => {
      const { closeGrantsInKernel, describeLeftOpen } = await import('./grant-close.js');
      await withStore(configPath(), async (ctx) => {
        const live = await ctx.data.store.deleteUser(name);
        await ctx.data.store.recordAudit({ event: 'admin.user.revoke', user: name, result: 'ok', reason: `by ${operator()}` });
        process.stderr.write(`user ${name} revoked\n`);
        if (opts.closeGrants) await closeGrantsInKernel(ctx, live, 'revoked');
        else describeLeftOpen(live, ctx.now());
      });
    }));
}

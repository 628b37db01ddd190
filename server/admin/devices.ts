/**
 * `tumblerd device add|list|disable|enable|revoke|reenroll`: a user's devices. Each device has
 * its own password-derived key and its own one-time sequences; re-enrolling gives it a new salt,
 * key and first sequence (every older sequence of the device is dead at once).
 */
import type { Command } from 'commander';
import { TumblerError } from '../../shared/errors.js';
import { operator, withStore } from './context.js';
import { action, usageErrors } from './exit.js';
import { closeGrantsOption, withBundleOptions, type BundleCliOptions } from './options.js';
import { isoTime, printJson, printTable } from './output.js';

export function registerDeviceCommands(program: Command, configPath: () => string): void {
  const device = usageErrors(program.command('device')).description('add, list, disable, enable, revoke and re-enroll devices');

  withBundleOptions(
    device.command('add')
      .description('add a device to a user and print its enrollment bundle')
      .argument('<user>', 'existing user')
      .argument('<device>', 'device name: [a-z0-9] then [a-z0-9_.-], up to 32 characters'),
  ).action(action(async (user: string, name: string, opts: BundleCliOptions) => {
    const { enrollDevice } = await import('./enroll.js');
    const { checkDeviceName } = await import('../store/names.js');
    await withStore(configPath(), async (ctx) => {
      await enrollDevice(ctx, {
        user, device: name, mode: 'add', auditEvent: 'admin.device.add',
        precheck: async () => {
          checkDeviceName(name);
          if (!(await ctx.data.store.getUser(user))) throw new TumblerError('STORE_NOT_FOUND', `no user ${user}`);
          if (await ctx.data.store.getDevice(user, name)) throw new TumblerError('STORE_EXISTS', `device ${user}/${name} already exists`);
        },
      }, opts);
      process.stderr.write(`added device ${user}/${name}\n`);
    });
  }));

  withBundleOptions(
    device.command('reenroll')
      .description('give a device a new password, key and first sequence, and print its new bundle; its old sequences stop working')
      .argument('<user>', 'user')
      .argument('<device>', 'device'),
  ).action(action(async (user: string, name: string, opts: BundleCliOptions) => {
    const { enrollDevice } = await import('./enroll.js');
    await withStore(configPath(), async (ctx) => {
      await enrollDevice(ctx, {
        user, device: name, mode: 'reenroll', auditEvent: 'admin.device.reenroll',
        precheck: async () => {
          if (!(await ctx.data.store.getDevice(user, name))) throw new TumblerError('STORE_NOT_FOUND', `no device ${user}/${name}`);
        },
      }, opts);
      process.stderr.write(`re-enrolled device ${user}/${name}\n`);
    });
  }));

  device.command('list')
    .description('list devices (of one user, or of all)')
    .argument('[user]', 'only this user\'s devices')
    .option('--json', 'print JSON')
    .action(action(async (user: string | undefined, opts: { json?: boolean }) => {
      await withStore(configPath(), async ({ data }) => {
        const devices = await data.store.listDevices(user);
        if (opts.json) {
          printJson(devices.map((d) => ({
            user: d.userName, device: d.name, enabled: d.enabled, createdAt: isoTime(d.createdAt),
            kdf: { algorithm: 'scrypt', N: d.kdf.N, r: d.kdf.r, p: d.kdf.p }, activeSequences: d.activeSequences,
          })));
        } else {
          printTable(['USER', 'DEVICE', 'ENABLED', 'SEQUENCES', 'KDF', 'CREATED'],
            devices.map((d) => [d.userName, d.name, d.enabled, d.activeSequences, `scrypt N=${d.kdf.N} r=${d.kdf.r} p=${d.kdf.p}`, isoTime(d.createdAt)]),
            'no devices');
        }
      });
    }));

  for (const enable of [false, true]) {
    const verb = enable ? 'enable' : 'disable';
    device.command(verb)
      .description(enable ? 'allow a disabled device to knock again' : 'refuse every knock of one device (within a second in the running daemon)')
      .argument('<user>', 'user')
      .argument('<device>', 'device')
      .action(action(async (user: string, name: string) => {
        await withStore(configPath(), async ({ data }) => {
          await data.store.setDeviceEnabled(user, name, enable);
          await data.store.recordAudit({ event: `admin.device.${verb}`, user, device: name, result: 'ok', reason: `by ${operator()}` });
          process.stderr.write(`device ${user}/${name} ${verb}d\n`);
        });
      }));
  }

  device.command('revoke')
    .description('delete a device with its key and sequences; the user\'s other devices are untouched')
    .argument('<user>', 'user')
    .argument('<device>', 'device')
    .addOption(closeGrantsOption())
    .action(action(async (user: string, name: string, opts: { closeGrants?: boolean }) => {
      const { closeGrantsInKernel, describeLeftOpen } = await import('./grant-close.js');
      await withStore(configPath(), async (ctx) => {
        const live = await ctx.data.store.deleteDevice(user, name);
        await ctx.data.store.recordAudit({ event: 'admin.device.revoke', user, device: name, result: 'ok', reason: `by ${operator()}` });
        process.stderr.write(`device ${user}/${name} revoked\n`);
        if (opts.closeGrants) await closeGrantsInKernel(ctx, live, 'revoked');
        else describeLeftOpen(live, ctx.now());
      });
    }));
}

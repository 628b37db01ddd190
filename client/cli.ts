#!/usr/bin/env node
/**
 * `tumbler`, the client CLI: enroll, open, proxy (ssh ProxyCommand), profiles, status, the key
 * agent (agent, unlock, lock), install-helper. Arguments are parsed by commander; start-up is kept
 * small: only commander loads up front, and each command's module (and with it node-forge, the
 * profile store, the transports) is imported when that command runs. `open` and `proxy` first ask
 * a running agent (tumbler agent), which knocks with a key it already holds, and load the knock
 * code only when no agent can serve them. Every failure ends as one line
 * `tumbler: <message> (<CODE>)` on stderr and a documented exit code (client/commands/exit-codes.ts).
 * Users run it bundled, with a V8 code cache (scripts/build-client.mjs → dist/client/bin/tumbler.cjs).
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { TumblerError } from '../shared/errors.js';
import { VERSION } from '../shared/version.js';
import { DEFAULT_LIFETIME } from './agent/defaults.js';
import { EXIT, EXIT_CODES_HELP, exitCodeFor } from './commands/exit-codes.js';

function integerIn(min: number, max: number, what: string): (v: string) => number {
  return (v) => {
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new InvalidArgumentError(`${what} must be an integer in ${min}..${max}`);
    return Number(v);
  };
}

const warn = (line: string): void => { process.stderr.write(`tumbler: ${line}\n`); };

/** What `open` and `proxy` take (commander's option values). */
interface KnockCliOptions {
  service?: string;
  json?: boolean;
  timeout?: number;
  gateway?: string;
  publicAddress?: string;
  passwordFile?: string;
  verbose?: boolean;
  /** false with --no-agent. */
  agent: boolean;
}

/** Open through a running agent; null when none can serve this profile (then knock here). */
async function viaAgent(profile: string, service: string | undefined, o: KnockCliOptions) {
  if (!o.agent) return null;
  const { openThroughAgent } = await import('./agent/client.js');
  const r = await openThroughAgent({ profile, service, timeoutMs: o.timeout, publicAddress: o.publicAddress, gateway: o.gateway }, warn);
  if (r && o.verbose) warn('knocked through the agent');
  return r;
}

function build(): Command {
  const program = new Command('tumbler');
  program
    .description('Tumbler client: open hidden services by TCP-SYN dynamic port knocking')
    .version(VERSION, '-V, --version')
    .exitOverride()
    .configureOutput({
      outputError: (str, write) => write(`tumbler: ${str.replace(/^error: /, '').trim().replace(/\s*\n\s*/g, ' ')} (USAGE)\n`),
    })
    .showSuggestionAfterError(true)
    .addHelpText('after', `
Examples:
  tumbler enroll ./alice-laptop.bundle --name work
  tumbler open work                  # prints the granted port
  tumbler unlock work                # once per session: the agent knocks from then on
  ssh -o 'ProxyCommand tumbler proxy work ssh' me@work
${EXIT_CODES_HELP}`);

  const withCodes = (c: Command, extra = ''): Command => c.addHelpText('after', `${extra}${EXIT_CODES_HELP}`);
  const timeoutOpt = (): Option => new Option('--timeout <ms>', 'first wait for an answer in ms (later sends wait 1.5x and 2x)')
    .argParser(integerIn(100, 10000, '--timeout'));
  const publicOpt = (): Option => new Option('--public-address <addr>', 'bind the knock to this address (normally found by itself, also behind NAT)');
  const gatewayOpt = (): Option => new Option('--gateway <addr>', 'knock only this gateway address of the profile (default: the one that answered last, then the others)');
  const passwordOpt = (): Option => new Option('--password-file <file>', 'read the password from this file, one line, mode 0600 (a key kept off disk and not in the agent)');
  const noAgentOpt = (): Option => new Option('--no-agent', 'knock from this process even when an agent runs');
  const lifetimeOpt = (whose: string): Option => new Option('--timeout <duration>', `how long ${whose} stays unlocked: 90s, 30m, 8h, 7d, or none (until locked)`);

  withCodes(program.command('enroll')
    .description('enroll this device from the enrollment bundle your admin gave you')
    .argument('<bundle>', 'the bundle text (tumbler2.…), a file holding it, or - for stdin')
    .option('--name <profile>', 'profile name (default: <user>-<server>, e.g. alice-192.0.2.1)')
    .option('--password-file <file>', 'read the password from this file (one line, mode 0600) instead of asking')
    .option('--store-key', 'keep the derived key in the profile (mode 0600): the default when no agent runs')
    .option('--no-store-key', 'keep the key off disk: the default when an agent runs (the key then goes to it)')
    .option('--force', 'replace an existing profile of the same name (re-enrollment)')
    .action(async (bundle: string, o: { name?: string; passwordFile?: string; storeKey?: boolean; force?: boolean }) => {
      await (await import('./commands/enroll.js')).run(bundle, o);
    }), `
The password is asked twice with echo off on a terminal, or read as one line from stdin otherwise
(a --password-file must be mode 0600). It is checked against the bundle: a mistyped password stops
here (exit 8). The profile is written mode 0600 under $XDG_CONFIG_HOME/tumbler/profiles
(~/.config/tumbler/profiles).
`);

  withCodes(program.command('open')
    .description('knock and open a service; prints the granted port')
    .argument('<profile>', 'profile name (see: tumbler profiles)')
    .option('--service <name>', "service to open (default: the profile's only service, else ssh)")
    .option('--json', 'print {profile, service, server, port, expiresAt, observedAddress} as JSON')
    .addOption(timeoutOpt())
    .addOption(gatewayOpt())
    .addOption(publicOpt())
    .addOption(passwordOpt())
    .option('-v, --verbose', 'say on stderr which gateway each knock goes to and which address it names, or that the agent knocked')
    .addOption(noAgentOpt())
    .action(async (profile: string, o: KnockCliOptions) => {
      const r = await viaAgent(profile, o.service, o);
      if (!r) {
        await (await import('./commands/open.js')).run(profile, o);
        return;
      }
      const { grantJson, grantLine } = await import('./commands/grant-output.js');
      process.stdout.write(o.json ? `${JSON.stringify(grantJson(r.result), null, 2)}\n` : `${grantLine(r.result, Date.now())}\n`);
    }), `
Output: "ssh granted on 192.0.2.1 port 51234 until 12:34:56 (30 s)"; connect to that port before then.
With an agent running (tumbler agent, tumbler unlock) the agent knocks with the key it holds.
Otherwise: the gateways are tried in turn (the one that answered last first; IPv6 or IPv4 as this
host prefers, then the other). Behind NAT the knock finds this host's public address by itself (a
probe knock the server answers with the address it sees), also after that address changed.
Root (or CAP_NET_RAW) sends the knock itself; otherwise through the helper (sudo tumbler install-helper;
TUMBLER_HELPER=path overrides where it is looked for, TUMBLER_TRANSPORT=raw|helper forces one way).
`);

  withCodes(program.command('proxy')
    .description('knock, then connect to the granted port and relay stdin/stdout (ssh ProxyCommand)')
    .argument('<profile>', 'profile name')
    .argument('<service>', 'service to open, e.g. ssh')
    .addOption(timeoutOpt())
    .addOption(gatewayOpt())
    .addOption(publicOpt())
    .addOption(passwordOpt())
    .option('-v, --verbose', 'report the grant on stderr')
    .addOption(noAgentOpt())
    .action(async (profile: string, service: string, o: KnockCliOptions) => {
      const r = await viaAgent(profile, service, o);
      if (!r) {
        await (await import('./commands/proxy.js')).run(profile, service, o);
        return;
      }
      if (o.verbose) warn((await import('./commands/grant-output.js')).grantLine(r.result, Date.now()));
      await (await import('./commands/splice.js')).relay(r.server, r.port);
    }), `
In ~/.ssh/config (one Host for a dual-stack or multi-gateway server: the profile knows its addresses):
  Host work
    ProxyCommand tumbler proxy work ssh
then plain "ssh work" knocks and logs in. Messages go to stderr only; a password (key kept off
disk, not in the agent) is asked on the terminal. With an agent, tumbler-connect (ProxyUseFdpass)
does the same without starting Node: see tumbler(1).
`);

  withCodes(program.command('profiles')
    .description('list the enrolled profiles')
    .option('--json', 'print as JSON')
    .action(async (o: { json?: boolean }) => {
      await (await import('./commands/profiles.js')).runProfiles(o);
    }));

  withCodes(program.command('status')
    .description("a profile's key (stored, or unlocked in the agent), last grant, sequence age, clock offset and observed address " +
      '(never its key or sequence); without a profile: the agent and every profile')
    .argument('[profile]', 'profile name')
    .option('--json', 'print as JSON')
    .action(async (profile: string | undefined, o: { json?: boolean }) => {
      await (await import('./commands/status.js')).runStatus(profile, o);
    }));

  withCodes(program.command('agent')
    .description('run the key agent: keys in memory only; it knocks for tumbler and tumbler-connect')
    .addOption(lifetimeOpt('a key unlocked without a --timeout of its own').default(DEFAULT_LIFETIME))
    .option('--detach', 'start it in the background (if none runs) and return')
    .option('--stop', 'make the running agent forget every key and exit')
    .option('--quiet', 'log nothing once listening (used when started in the background)')
    .action(async (o: { timeout?: string; detach?: boolean; stop?: boolean; quiet?: boolean }) => {
      await (await import('./commands/agent.js')).run(o);
    }), `
The socket is $TUMBLER_AGENT_SOCK, else $XDG_RUNTIME_DIR/tumbler/agent.sock, else
/tmp/tumbler-<uid>/agent.sock, mode 0600 in a 0700 directory; only processes of your uid are
answered. Keys live in memory only. SIGUSR1 makes it forget every key; SIGTERM/SIGINT/SIGHUP too,
then it exits. Runs in the foreground (systemd user unit: ExecStart=tumbler agent).
`);

  withCodes(program.command('unlock')
    .description("ask a profile's password once; the agent (started if need be) holds its key")
    .argument('<profile>', 'profile name')
    .addOption(lifetimeOpt("the key (default: the agent's --timeout)"))
    .option('--password-file <file>', 'read the password from this file (one line, mode 0600) instead of asking')
    .action(async (profile: string, o: { timeout?: string; passwordFile?: string }) => {
      await (await import('./commands/unlock.js')).run(profile, o);
    }), `
The password is checked against the profile at once (a mistyped one is exit 8) and the key goes to
the agent only: nothing is written to disk.
`);

  withCodes(program.command('lock')
    .description('make the agent forget the key of a profile (every key without one)')
    .argument('[profile]', 'profile name')
    .action(async (profile: string | undefined) => {
      await (await import('./commands/lock.js')).run(profile);
    }));

  withCodes(program.command('install-helper')
    .description('install the raw-socket helper (run as root: sudo tumbler install-helper)')
    .addOption(new Option('--mode <mode>', 'setuid root, or the cap_net_raw file capability').choices(['setuid', 'cap']).default('setuid'))
    .option('--from <file>', 'helper binary to install (default: the one built in this checkout)')
    .option('--to <file>', 'where to install it (default: /usr/local/lib/tumbler/tumbler-helper; elsewhere, set TUMBLER_HELPER)')
    .action(async (o: { mode?: string; from?: string; to?: string }) => {
      await (await import('./commands/install-helper.js')).run(o);
    }));

  return program;
}

async function main(argv: string[]): Promise<number> {
  const program = build();
  if (argv.length <= 2) {
    program.outputHelp({ error: true });
    return EXIT.USAGE;
  }
  try {
    await program.parseAsync(argv);
    return EXIT.OK;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return EXIT.OK;
      return EXIT.USAGE; // commander already printed the one-line reason
    }
    if (e instanceof TumblerError) {
      process.stderr.write(`tumbler: ${e.message} (${e.code})\n`);
      return exitCodeFor(e.code);
    }
    const msg = e instanceof Error ? e.message : String(e);
    process.stderr.write(`tumbler: ${msg.split('\n')[0]} (INTERNAL)\n`);
    return EXIT.OTHER;
  }
}

// No top-level await: the users' copy is a CommonJS bundle (scripts/build-client.mjs).
void main(process.argv).then((code) => {
  process.exitCode = code;
});

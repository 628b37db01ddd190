#!/usr/bin/env node
/**
 * `tumbler`, the client CLI: the command table (one declaration drives parsing and every --help,
 * client/argv/), and the entry point. Start-up is kept to Node's own: no dependency loads up front;
 * each command imports what it needs when it runs. `open` and `proxy` first ask a running agent
 * (tumbler agent), which knocks with a key it already holds, and load the knock code only when no
 * agent can serve them. Every failure ends as one line `tumbler: <message> (<CODE>)` on stderr and
 * a documented exit code (client/commands/exit-codes.ts).
 */
import { TumblerError } from '../shared/errors.js';
import { commandHelp, programHelp } from './argv/help.js';
import { parseArgv } from './argv/parse.js';
import type { CommandSpec, OptionSpec, OptionValues, ProgramSpec } from './argv/spec.js';
import { EXIT, EXIT_CODES_HELP, exitCodeFor } from './commands/exit-codes.js';
import { DEFAULT_LIFETIME } from './commands/lifetime.js';

const VERSION = '0.1.0';

const usage = (msg: string): TumblerError => new TumblerError('USAGE', msg);

function integerIn(min: number, max: number, what: string): (v: string) => number {
  return (v) => {
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw usage(`${what} must be an integer in ${min}..${max}`);
    return Number(v);
  };
}

const str = (o: OptionValues, k: string): string | undefined => (typeof o[k] === 'string' ? (o[k] as string) : undefined);
const num = (o: OptionValues, k: string): number | undefined => (typeof o[k] === 'number' ? (o[k] as number) : undefined);
const flag = (o: OptionValues, k: string): boolean | undefined => (typeof o[k] === 'boolean' ? (o[k] as boolean) : undefined);
const warn = (line: string): void => { process.stderr.write(`tumbler: ${line}\n`); };

// Options shared by several commands: declared once.
const TIMEOUT: OptionSpec = { key: 'timeout', long: '--timeout', value: '<ms>', parse: integerIn(100, 10000, '--timeout'),
  help: 'first wait for the reply in ms (the 2nd and 3rd sends wait 1.5x and 2x)' };
const PUBLIC: OptionSpec = { key: 'publicAddress', long: '--public-address', value: '<addr>', help: 'bind the knock to this address (your public address behind NAT)' };
const PASSWORD_FILE: OptionSpec = { key: 'passwordFile', long: '--password-file', value: '<file>', help: 'read the password from the first line of this file' };
const JSON_OUT: OptionSpec = { key: 'json', long: '--json', help: 'print as JSON' };
const VERBOSE: OptionSpec = { key: 'verbose', long: '--verbose', short: '-v', help: 'progress notes on stderr' };
const NO_AGENT: OptionSpec = { key: 'agent', long: '--no-agent', help: 'knock from this process even when an agent runs' };
const LIFETIME: OptionSpec = { key: 'timeout', long: '--timeout', value: '<duration>', help: 'how long the key stays unlocked: 90s, 30m, 8h, 7d, or none (until locked)' };

/** Open through a running agent; null when none can serve this profile (then knock here). */
async function viaAgent(profile: string, service: string | undefined, o: OptionValues) {
  if (flag(o, 'agent') === false) return null;
  const { openThroughAgent } = await import('./agent/client.js');
  const r = await openThroughAgent({ profile, service, timeoutMs: num(o, 'timeout'), publicAddress: str(o, 'publicAddress') }, warn);
  if (r && flag(o, 'verbose')) warn('knocked through the agent');
  return r;
}

const COMMANDS: CommandSpec[] = [
  {
    name: 'enroll',
    summary: 'enroll this device from the enrollment bundle your admin gave you',
    args: [{ name: 'bundle', help: 'the bundle text (tumbler1.…), a file holding it, or - for stdin' }],
    options: [
      { key: 'name', long: '--name', value: '<profile>', help: 'profile name (default: <user>-<server>, e.g. alice-192.0.2.1)' },
      PASSWORD_FILE,
      { key: 'storeKey', long: '--store-key', help: 'keep the derived key in the profile (mode 0600): the default when no agent runs' },
      { key: 'storeKey', long: '--no-store-key', help: 'keep the key off disk: the default when an agent runs (the key then goes to it)' },
      { key: 'force', long: '--force', help: 'replace an existing profile of the same name (re-enrollment)' },
    ],
    details: `
The password is asked twice with echo off on a terminal, or read as one line from stdin otherwise.
The profile is written mode 0600 under $XDG_CONFIG_HOME/tumbler/profiles (~/.config/tumbler/profiles).
`,
    run: async ([bundle], o) => (await import('./commands/enroll.js')).run(bundle!, {
      name: str(o, 'name'), passwordFile: str(o, 'passwordFile'), storeKey: flag(o, 'storeKey'), force: flag(o, 'force'),
    }),
  },
  {
    name: 'open',
    summary: 'knock and open a service; prints the granted port',
    args: [{ name: 'profile', help: 'profile name (see: tumbler profiles)' }],
    options: [
      { key: 'service', long: '--service', value: '<name>', help: "service to open (default: the profile's only service, else ssh)" },
      { ...JSON_OUT, help: 'print {profile, service, server, port, expiresAt, observedAddress} as JSON' },
      TIMEOUT, PUBLIC, { ...PASSWORD_FILE, help: `${PASSWORD_FILE.help} (a key kept off disk and not in the agent)` },
      { ...VERBOSE, help: 'say on stderr which bound address each knock uses, or that the agent knocked' }, NO_AGENT,
    ],
    details: `
Output: "ssh granted on 192.0.2.1 port 51234 until 12:34:56 (30 s)"; connect to that port before then.
With an agent running (tumbler agent) it knocks; otherwise root (or CAP_NET_RAW) sends the knock
itself, anyone else through the helper (sudo tumbler install-helper; TUMBLER_HELPER=path overrides
where it is looked for, TUMBLER_TRANSPORT=raw|helper forces one way).
`,
    run: async ([profile], o) => {
      const r = await viaAgent(profile!, str(o, 'service'), o);
      if (!r) {
        return (await import('./commands/open.js')).run(profile!, {
          service: str(o, 'service'), json: flag(o, 'json'), timeout: num(o, 'timeout'), publicAddress: str(o, 'publicAddress'),
          passwordFile: str(o, 'passwordFile'), verbose: flag(o, 'verbose'),
        });
      }
      const { grantJson, grantLine } = await import('./commands/grant-output.js');
      process.stdout.write(o.json ? `${JSON.stringify(grantJson(r.result), null, 2)}\n` : `${grantLine(r.result, Date.now())}\n`);
    },
  },
  {
    name: 'proxy',
    summary: 'knock, then connect to the granted port and relay stdin/stdout (ssh ProxyCommand)',
    args: [{ name: 'profile', help: 'profile name' }, { name: 'service', help: 'service to open, e.g. ssh' }],
    options: [TIMEOUT, PUBLIC, PASSWORD_FILE, { ...VERBOSE, help: 'report the grant on stderr' }, NO_AGENT],
    details: `
In ~/.ssh/config:
  Host work
    ProxyCommand tumbler proxy work ssh
then plain "ssh work" knocks and logs in. Messages go to stderr only; a password (key kept off
disk, not in the agent) is asked on the terminal. With an agent, tumbler-connect (ProxyUseFdpass)
does the same without starting Node: see the README.
`,
    run: async ([profile, service], o) => {
      const r = await viaAgent(profile!, service, o);
      if (!r) {
        return (await import('./commands/proxy.js')).run(profile!, service!, {
          timeout: num(o, 'timeout'), publicAddress: str(o, 'publicAddress'), passwordFile: str(o, 'passwordFile'), verbose: flag(o, 'verbose'),
        });
      }
      if (flag(o, 'verbose')) warn((await import('./commands/grant-output.js')).grantLine(r.result, Date.now()));
      await (await import('./commands/splice.js')).relay(r.server, r.port);
    },
  },
  {
    name: 'profiles',
    summary: 'list the enrolled profiles',
    args: [],
    options: [JSON_OUT],
    run: async (_a, o) => (await import('./commands/profiles.js')).runProfiles({ json: flag(o, 'json') }),
  },
  {
    name: 'status',
    summary: "a profile's key, last grant, sequence age, clock and address (never a secret); alone: the agent and every profile",
    args: [{ name: 'profile', help: 'profile name', optional: true }],
    options: [JSON_OUT],
    run: async ([profile], o) => (await import('./commands/status.js')).runStatus(profile, { json: flag(o, 'json') }),
  },
  {
    name: 'agent',
    summary: 'run the key agent: keys in memory only; it knocks for tumbler and tumbler-connect',
    args: [],
    options: [
      { ...LIFETIME, help: 'default lifetime of an unlocked key: 90s, 30m, 8h, 7d, or none', default: DEFAULT_LIFETIME },
      { key: 'detach', long: '--detach', help: 'start it in the background (if none runs) and return' },
      { key: 'stop', long: '--stop', help: 'make the running agent forget every key and exit' },
      { key: 'quiet', long: '--quiet', help: 'log nothing once listening (used when started in the background)' },
    ],
    details: `
The socket is $TUMBLER_AGENT_SOCK, else $XDG_RUNTIME_DIR/tumbler/agent.sock, else
/tmp/tumbler-<uid>/agent.sock, mode 0600 in a 0700 directory; only processes of your uid are
answered. Keys live in memory only. SIGUSR1 makes it forget every key; SIGTERM/SIGINT/SIGHUP too,
then it exits. Runs in the foreground (systemd user unit: ExecStart=tumbler agent).
`,
    run: async (_a, o) => (await import('./commands/agent.js')).run({
      timeout: str(o, 'timeout'), detach: flag(o, 'detach'), stop: flag(o, 'stop'), quiet: flag(o, 'quiet'),
    }),
  },
  {
    name: 'unlock',
    summary: "ask a profile's password once; the agent (started if need be) holds its key",
    args: [{ name: 'profile', help: 'profile name' }],
    options: [{ ...LIFETIME, help: `${LIFETIME.help} (default: the agent's)` }, PASSWORD_FILE],
    run: async ([profile], o) => (await import('./commands/unlock.js')).run(profile!, { timeout: str(o, 'timeout'), passwordFile: str(o, 'passwordFile') }),
  },
  {
    name: 'lock',
    summary: 'make the agent forget the key of a profile (every key without one)',
    args: [{ name: 'profile', help: 'profile name', optional: true }],
    options: [],
    run: async ([profile]) => (await import('./commands/lock.js')).run(profile),
  },
  {
    name: 'install-helper',
    summary: 'install the raw-socket helper (run as root: sudo tumbler install-helper)',
    args: [],
    options: [
      { key: 'mode', long: '--mode', value: '<mode>', choices: ['setuid', 'cap'], default: 'setuid', help: 'setuid root, or the cap_net_raw file capability' },
      { key: 'from', long: '--from', value: '<file>', help: 'helper binary to install (default: the one built in this checkout)' },
      { key: 'to', long: '--to', value: '<file>', help: 'where to install it (default: /usr/local/lib/tumbler/tumbler-helper; elsewhere, set TUMBLER_HELPER)' },
    ],
    run: async (_a, o) => (await import('./commands/install-helper.js')).run({ mode: str(o, 'mode'), from: str(o, 'from'), to: str(o, 'to') }),
  },
];

const PROGRAM: ProgramSpec = {
  name: 'tumbler',
  version: VERSION,
  summary: 'Tumbler client: open hidden services by TCP-SYN dynamic port knocking',
  commands: COMMANDS,
  details: `
Examples:
  tumbler enroll ./alice-laptop.bundle --name work
  tumbler open work                  # prints the granted port
  tumbler unlock work                # once per session: the agent knocks from then on
  ssh -o 'ProxyCommand tumbler proxy work ssh' me@work
`,
  footer: EXIT_CODES_HELP,
};

async function main(argv: string[]): Promise<number> {
  try {
    const p = parseArgv(PROGRAM, argv);
    if (p.kind === 'version') {
      process.stdout.write(`${VERSION}\n`);
      return EXIT.OK;
    }
    if (p.kind === 'help') {
      if (argv.length === 0) {
        process.stderr.write(programHelp(PROGRAM));
        return EXIT.USAGE;
      }
      process.stdout.write(p.command ? commandHelp(PROGRAM, p.command) : programHelp(PROGRAM));
      return EXIT.OK;
    }
    await p.command.run(p.args, p.options);
    return EXIT.OK;
  } catch (e) {
    if (e instanceof TumblerError) {
      process.stderr.write(`tumbler: ${e.message} (${e.code})\n`);
      return exitCodeFor(e.code);
    }
    const msg = e instanceof Error ? e.message : String(e);
    process.stderr.write(`tumbler: ${msg.split('\n')[0]} (INTERNAL)\n`);
    return EXIT.OTHER;
  }
}

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});

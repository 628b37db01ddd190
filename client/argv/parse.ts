/**
 * A small, strict argv parser for a command table (spec.ts): `<command> [args] [options]`, options
 * anywhere after the command, `--opt value` or `--opt=value`, `-v` short flags, `--` ends options.
 * Unknown commands and options, missing or extra arguments and bad values are TumblerError USAGE
 * with a one-line reason (and a suggestion for a near miss). Costs nothing at start-up: no
 * dependency, no work beyond the argv itself.
 */
import { TumblerError } from '../../shared/errors.js';
import type { CommandSpec, OptionSpec, OptionValues, ProgramSpec } from './spec.js';

export type Parsed =
  | { readonly kind: 'run'; readonly command: CommandSpec; readonly args: string[]; readonly options: OptionValues }
  | { readonly kind: 'help'; readonly command?: CommandSpec }
  | { readonly kind: 'version' };

const usage = (msg: string): TumblerError => new TumblerError('USAGE', msg);

/** Levenshtein distance, for "did you mean" on near misses only. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

function suggest(word: string, candidates: readonly string[]): string {
  const best = candidates.map((c) => ({ c, d: distance(word, c) })).sort((x, y) => x.d - y.d)[0];
  return best && best.d <= Math.min(3, Math.max(1, Math.floor(best.c.length / 2))) ? ` (did you mean ${best.c}?)` : '';
}

const isHelp = (a: string): boolean => a === '--help' || a === '-h';

function findOption(cmd: CommandSpec, flag: string): OptionSpec {
  const o = cmd.options.find((x) => x.long === flag || x.short === flag);
  if (!o) throw usage(`unknown option '${flag}' for '${cmd.name}'${suggest(flag, cmd.options.map((x) => x.long))}`);
  return o;
}

function optionValue(o: OptionSpec, text: string): string | number {
  if (o.choices && !o.choices.includes(text)) throw usage(`${o.long} must be one of ${o.choices.join(', ')} (got '${text}')`);
  return o.parse ? o.parse(text) : text;
}

/** Parses `argv` (without node and the script) against the program's table. */
export function parseArgv(program: ProgramSpec, argv: readonly string[]): Parsed {
  const [first, ...rest] = argv;
  if (first === undefined || isHelp(first)) return { kind: 'help' };
  if (first === '--version' || first === '-V') return { kind: 'version' };
  if (first === 'help') return { kind: 'help', command: rest[0] === undefined ? undefined : program.commands.find((c) => c.name === rest[0]) };
  const command = program.commands.find((c) => c.name === first);
  if (!command) {
    if (first.startsWith('-')) throw usage(`unknown option '${first}'`);
    throw usage(`unknown command '${first}'${suggest(first, program.commands.map((c) => c.name))}`);
  }
  if (rest.some(isHelp)) return { kind: 'help', command };

  const options: OptionValues = {};
  for (const o of command.options) if (o.default !== undefined) options[o.key] = o.default;
  const args: string[] = [];
  let onlyArgs = false;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (onlyArgs || !a.startsWith('-') || a === '-') {
      args.push(a);
      continue;
    }
    if (a === '--') {
      onlyArgs = true;
      continue;
    }
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    const flag = eq > 0 ? a.slice(0, eq) : a;
    const o = findOption(command, flag);
    if (!o.value) {
      if (eq > 0) throw usage(`option '${flag}' takes no value`);
      options[o.key] = !o.long.startsWith('--no-');
      continue;
    }
    let text: string | undefined;
    if (eq > 0) text = a.slice(eq + 1);
    else text = rest[++i];
    if (text === undefined) throw usage(`option '${o.long} ${o.value}' needs a value`);
    options[o.key] = optionValue(o, text);
  }
  const required = command.args.filter((x) => !x.optional).length;
  if (args.length < required) throw usage(`missing argument '${command.args[args.length]!.name}' for '${command.name}'`);
  if (args.length > command.args.length) throw usage(`too many arguments for '${command.name}' (expected ${command.args.length})`);
  return { kind: 'run', command, args, options };
}

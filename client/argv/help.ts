/**
 * Help texts generated from the command table (spec.ts): the program's overview and each command's
 * usage, arguments and options, then the table's own details and the exit-code footer.
 */
import type { CommandSpec, OptionSpec, ProgramSpec } from './spec.js';

function columns(rows: ReadonlyArray<readonly [string, string]>): string {
  const width = Math.min(32, Math.max(...rows.map(([l]) => l.length)));
  return rows.map(([l, r]) => (l.length > width ? `  ${l}\n  ${''.padEnd(width)}  ${r}` : `  ${l.padEnd(width)}  ${r}`)).join('\n');
}

function optionLabel(o: OptionSpec): string {
  return `${o.short ? `${o.short}, ` : ''}${o.long}${o.value ? ` ${o.value}` : ''}`;
}

function optionHelp(o: OptionSpec): string {
  const extra = [o.choices ? `choices: ${o.choices.join(', ')}` : '', typeof o.default === 'string' ? `default: ${o.default}` : ''].filter(Boolean);
  return extra.length ? `${o.help} (${extra.join('; ')})` : o.help;
}

function synopsis(c: CommandSpec): string {
  return [c.name, c.options.length ? '[options]' : '', ...c.args.map((a) => (a.optional ? `[${a.name}]` : `<${a.name}>`))].filter(Boolean).join(' ');
}

export function programHelp(p: ProgramSpec): string {
  const parts = [
    `Usage: ${p.name} <command> [options]`,
    p.summary,
    `Commands:\n${columns(p.commands.map((c) => [synopsis(c), c.summary]))}`,
    `Options:\n${columns([['-V, --version', 'print the version'], ['-h, --help', 'this help; tumbler <command> --help for one command']])}`,
  ];
  return `${parts.join('\n\n')}\n${p.details ?? ''}${p.footer ?? ''}\n`;
}

export function commandHelp(p: ProgramSpec, c: CommandSpec): string {
  const parts = [`Usage: ${p.name} ${synopsis(c)}`, c.summary];
  if (c.args.length) parts.push(`Arguments:\n${columns(c.args.map((a) => [a.name, a.help]))}`);
  parts.push(`Options:\n${columns([...c.options.map((o) => [optionLabel(o), optionHelp(o)] as const), ['-h, --help', 'this help']])}`);
  return `${parts.join('\n\n')}\n${c.details ?? ''}${p.footer ?? ''}\n`;
}

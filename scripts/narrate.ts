/**
 * How the demo narrates: a heading per step, bold on a terminal, plain text otherwise (a log file,
 * a pipe, CI) or when NO_COLOR is set, so no escape sequence ends up where nobody can render it.
 */
export function heading(text: string, out: { isTTY?: boolean } = process.stdout, env: NodeJS.ProcessEnv = process.env): string {
  const styled = out.isTTY === true && !env.NO_COLOR;
  return styled ? `\n\x1b[1m▶ ${text}\x1b[0m\n` : `\n▶ ${text}\n`;
}

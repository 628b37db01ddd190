/**
 * A TOML syntax error in words a person fixing tumblerd.toml understands: smol-toml reports where
 * it stopped and a parser's reason ("illegal character in key" for `[server` without `]`); this
 * reads the line it stopped on and names the usual mistake (an unclosed table header, string, list
 * or inline table; a key without a value; a bare word where a value goes; a key defined twice;
 * text after a value), falling back to the parser's own words.
 */

/** Text before a `#` that is outside quotes (enough for one line of a config). */
function withoutComment(line: string): string {
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#') return line.slice(0, i);
  }
  return line;
}

const quoted = (s: string): string => JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s);

/** What is wrong, for the message after "file:line: ". */
export function describeTomlError(text: string, line: number, parserReason: string): string {
  const lines = text.split(/\r?\n/);
  const here = withoutComment(lines[line - 1] ?? '').trim();
  const above = withoutComment(lines[line - 2] ?? '').trim();
  const key = /^([^=]*?)\s*=/.exec(here)?.[1] ?? '';
  const value = here.includes('=') ? here.slice(here.indexOf('=') + 1).trim() : '';
  if (here.startsWith('[[') && !here.endsWith(']]')) return `the table header ${quoted(here)} is not closed: end it with "]]"`;
  if (here.startsWith('[') && !here.startsWith('[[') && !here.includes(']')) return `the table header ${quoted(here)} is not closed: end it with "]"`;
  if (here.startsWith('[') && /\]\s*\S/.test(here)) return `unexpected text after the table header in ${quoted(here)}`;
  if (/unexpected end of key/.test(parserReason) || here.startsWith('=')) return 'a key is missing before "="';
  if (/redefine/.test(parserReason)) return `${quoted(key || here)} is defined twice (each key and table once)`;
  if (/control characters are not allowed in strings|unterminated|unfinished string/.test(parserReason) && /^["']/.test(value)) {
    return `the string for ${quoted(key)} is not closed: end it with ${value[0]}`;
  }
  if (/expected comma or end of structure/.test(parserReason)) {
    const opened = /=\s*([[{])/.exec(here) ?? /=\s*([[{])/.exec(above);
    const close = opened?.[1] === '{' ? '}' : ']';
    return `a ${close === '}' ? 'table {…}' : 'list […]'} is not closed with "${close}", or its items lack a comma`;
  }
  if (/invalid value/.test(parserReason)) {
    if (value === '') return `${quoted(key)} has no value after "="`;
    return `the value of ${quoted(key)} is not valid TOML (${quoted(value)}; text needs quotes: "…")`;
  }
  if (/must be followed by an end-of-line/.test(parserReason)) return `unexpected text after the value in ${quoted(here)} (one key = value per line)`;
  return parserReason;
}

/**
 * Where each key of a TOML document is, so config errors can name the line.
 *
 * smol-toml returns values without positions, so after it has accepted the document this scanner
 * walks the same text once and records the line of every table header, key (bare, quoted or
 * dotted, inline tables included) and array element. It assumes valid TOML (smol-toml checked it)
 * and stops quietly on anything it does not expect: lines it did not reach fall back to the
 * enclosing table's line, then to line 1.
 */

export type KeyPath = readonly (string | number)[];

export class KeyLines {
  private readonly lines = new Map<string, number>();

  static scan(text: string): KeyLines {
    const found = new KeyLines();
    try {
      new Scanner(text, found).document();
    } catch {
      // Unexpected text: keep what was found so far.
    }
    return found;
  }

  /** Line of `path`, else of its nearest recorded ancestor (e.g. the table header), else 1. */
  lineOf(path: KeyPath): number {
    for (let n = path.length; n > 0; n--) {
      const line = this.lines.get(keyOf(path.slice(0, n)));
      if (line !== undefined) return line;
    }
    return 1;
  }

  /** Record the line of a path and of its ancestors not seen yet (first definition wins). */
  record(path: KeyPath, line: number): void {
    for (let n = 1; n <= path.length; n++) {
      const k = keyOf(path.slice(0, n));
      if (!this.lines.has(k)) this.lines.set(k, line);
    }
  }
}

function keyOf(path: KeyPath): string {
  return path.map(String).join('\u0000');
}

class ScanStop extends Error {}

class Scanner {
  private pos = 0;
  private line = 1;
  private table: KeyPath = [];

  constructor(
    private readonly s: string,
    private readonly out: KeyLines,
  ) {}

  /** Statements: blank lines, comments, [table], [[array table]], key = value. */
  document(): void {
    while (this.pos < this.s.length) {
      this.skipSpace(true);
      if (this.pos >= this.s.length) break;
      const line = this.line;
      if (this.peek() === '[') {
        this.next();
        const arrayTable = this.peek() === '[';
        if (arrayTable) this.next();
        this.table = this.key();
        this.out.record(this.table, line);
        this.expect(']');
        if (arrayTable) this.expect(']');
      } else {
        const path = [...this.table, ...this.key()];
        this.out.record(path, line);
        this.expect('=');
        this.value(path);
      }
    }
  }

  /** A dotted key of bare, "basic" and 'literal' parts. */
  private key(): string[] {
    const parts: string[] = [];
    for (;;) {
      this.skipSpace(false);
      const c = this.peek();
      if (c === '"' || c === "'") {
        const start = this.pos;
        this.singleLineString(c);
        const raw = this.s.slice(start, this.pos);
        parts.push(c === "'" ? raw.slice(1, -1) : decodeBasic(raw));
      } else {
        const m = /^[A-Za-z0-9_-]+/.exec(this.s.slice(this.pos, this.pos + 256));
        if (!m) throw new ScanStop();
        parts.push(m[0]);
        this.pos += m[0].length;
      }
      this.skipSpace(false);
      if (this.peek() !== '.') return parts;
      this.next();
    }
  }

  private value(path: KeyPath): void {
    this.skipSpace(false);
    const c = this.peek();
    if (c === '"' || c === "'") {
      if (this.s.startsWith(c.repeat(3), this.pos)) this.multiLineString(c);
      else this.singleLineString(c);
    } else if (c === '[') {
      this.next();
      for (let i = 0; ; i++) {
        this.skipSpace(true);
        if (this.peek() === ']') break;
        this.out.record([...path, i], this.line);
        this.value([...path, i]);
        this.skipSpace(true);
        if (this.peek() === ',') this.next();
      }
      this.next();
    } else if (c === '{') {
      this.next();
      for (;;) {
        this.skipSpace(true);
        if (this.peek() === '}') break;
        const line = this.line;
        const inner = [...path, ...this.key()];
        this.out.record(inner, line);
        this.expect('=');
        this.value(inner);
        this.skipSpace(true);
        if (this.peek() === ',') this.next();
      }
      this.next();
    } else {
      // Number, boolean or date-time (which may contain a space): up to a delimiter.
      const start = this.pos;
      while (this.pos < this.s.length && !',]}#\r\n'.includes(this.peek())) this.next();
      if (this.pos === start) throw new ScanStop();
    }
  }

  private singleLineString(q: string): void {
    this.next();
    while (this.peek() !== q) {
      if (this.pos >= this.s.length || this.peek() === '\n') throw new ScanStop();
      if (q === '"' && this.peek() === '\\') this.next();
      this.next();
    }
    this.next();
  }

  /** """...""" or '''...''': the closing delimiter may be followed by up to two more quotes. */
  private multiLineString(q: string): void {
    const delim = q.repeat(3);
    this.pos += 3;
    while (!this.s.startsWith(delim, this.pos)) {
      if (this.pos >= this.s.length) throw new ScanStop();
      if (q === '"' && this.peek() === '\\') this.next();
      this.next();
    }
    let quotes = 0;
    while (this.peek() === q && quotes < 5) {
      this.next();
      quotes++;
    }
  }

  /** Spaces and tabs; with `newlines`, also line ends and comments. */
  private skipSpace(newlines: boolean): void {
    while (this.pos < this.s.length) {
      const c = this.peek();
      if (c === ' ' || c === '\t') this.next();
      else if (newlines && (c === '\n' || c === '\r')) this.next();
      else if (newlines && c === '#') {
        while (this.pos < this.s.length && this.peek() !== '\n') this.next();
      } else return;
    }
  }

  private expect(c: string): void {
    this.skipSpace(false);
    if (this.peek() !== c) throw new ScanStop();
    this.next();
    if (c === '=' || c === ']') this.skipSpace(false);
  }

  private peek(): string {
    return this.s.charAt(this.pos);
  }

  private next(): void {
    if (this.s.charAt(this.pos) === '\n') this.line++;
    this.pos++;
  }
}

/** A quoted basic key's text (TOML escapes are JSON's plus \e, \xHH, \UXXXXXXXX). */
function decodeBasic(raw: string): string {
  try {
    return JSON.parse(raw) as string;
  } catch {
    return raw.slice(1, -1);
  }
}

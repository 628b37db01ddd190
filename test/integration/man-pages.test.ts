/**
 * The man pages (man/*.{1,5,8}) against the programs they document, so they cannot silently rot:
 * groff renders each without a warning; every command, option, default value, choice and exit
 * status that `tumblerd --help` / `tumbler --help` (and each command's --help) show appears in
 * the page; tumblerd.toml(5) documents exactly the keys of server/config/example.toml, table by
 * table, and its EXAMPLE is a configuration the real parser accepts; tumbler-connect(1) lists
 * exactly the exit statuses the C program defines; the paths the packages install
 * (scripts/package/layout.ts) are the ones the pages name.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'smol-toml';
import { parseConfig } from '../../server/config/parse.js';
import { MONITOR_NODE_FLAGS, WORKER_NODE_FLAGS } from '../../server/monitor/node-flags.js';
import * as L from '../../scripts/package/layout.js';

const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const PAGES = { tumblerd: 'man/tumblerd.8', tumbler: 'man/tumbler.1', toml: 'man/tumblerd.toml.5', connect: 'man/tumbler-connect.1' } as const;
// tumbler as users run it: the bundle (scripts/build-client.mjs), commander inside.
const PROGRAMS = { tumblerd: 'dist/server/main.js', tumbler: 'dist/client/bin/tumbler.cjs' } as const;

function groff(page: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('groff', ['-man', ...args, join(REPO, page)], { encoding: 'utf8', timeout: 30_000 });
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') throw new Error('groff is not installed (apt-get install groff-base; scripts/setup.sh does)');
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The page as plain text on long lines, whitespace collapsed: what a reader sees, searchable. */
function plainText(page: string): string {
  const r = groff(page, ['-Tascii', '-P-c', '-P-b', '-P-u', '-P-o', '-rLL=250n']);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.replace(/\s+/g, ' ');
}

/** The rendered page cut at its section (SH) and subsection (SS) headings, bodies on one line. */
function pageSections(page: string): Array<{ heading: string; body: string }> {
  const r = groff(page, ['-Tascii', '-P-c', '-P-b', '-P-u', '-P-o', '-rLL=250n']);
  assert.equal(r.status, 0, r.stderr);
  const out: Array<{ heading: string; body: string }> = [];
  for (const line of r.stdout.split('\n')) {
    const h = /^(?: {3})?(\S.*)$/.exec(line);
    if (h) out.push({ heading: h[1]!.trim(), body: '' });
    else if (out.length) out[out.length - 1]!.body += ` ${line.trim()}`;
  }
  return out.map((s) => ({ heading: s.heading.replace(/\s+/g, ' '), body: s.body.replace(/\s+/g, ' ').trim() }));
}

interface HelpTree {
  /** "user add", "open", "" for the program itself. */
  readonly path: string;
  readonly options: string[];
  readonly defaults: string[];
  readonly choices: string[];
  readonly exitCodes: number[];
}

function help(program: keyof typeof PROGRAMS, path: string[]): string {
  const r = spawnSync(process.execPath, [join(REPO, PROGRAMS[program]), ...path, '--help'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, `${program} ${path.join(' ')} --help: ${r.stderr}`);
  return r.stdout;
}

/** Lines of one "Name:" section of commander's help, up to the next section or a blank line. */
function section(text: string, name: string): string[] {
  const lines = text.split('\n');
  const start = lines.indexOf(`${name}:`);
  if (start < 0) return [];
  const out: string[] = [];
  for (const l of lines.slice(start + 1)) {
    if (l.trim() === '' || /^\S/.test(l)) break;
    out.push(l);
  }
  return out;
}

/** Every command (depth first) with its options, defaults, choices and exit codes. */
function walk(program: keyof typeof PROGRAMS, path: string[] = []): HelpTree[] {
  const text = help(program, path);
  const flat = text.replace(/\s+/g, ' ');
  const options = section(text, 'Options')
    .map((l) => /^ {2}(-\S.*?)(?: {2,}|$)/.exec(l)?.[1])
    .filter((x): x is string => x !== undefined)
    .flatMap((spec) => spec.split(/,\s*/).map((f) => f.split(' ')[0]!))
    .filter((f) => f !== '-h' && f !== '--help');
  const exitBlock = /Exit codes:((?:.|\n)*?)(?:\n\s*\n|Errors are|$)/.exec(text)?.[1] ?? '';
  const tree: HelpTree[] = [{
    path: path.join(' '),
    options,
    defaults: [...flat.matchAll(/\(default: "([^"]*)"\)/g)].map((m) => m[1]!),
    choices: [...flat.matchAll(/\(choices: ([^)]*)\)/g)].flatMap((m) => [...m[1]!.matchAll(/"([^"]+)"/g)].map((c) => c[1]!)),
    exitCodes: [...exitBlock.matchAll(/(?:^|,|\n)\s*(\d{1,3})\s/g)].map((m) => Number(m[1])),
  }];
  const commands = section(text, 'Commands')
    .map((l) => /^ {2}([a-z][a-z-]*)/.exec(l)?.[1])
    .filter((c): c is string => c !== undefined && c !== 'help');
  for (const c of commands) tree.push(...walk(program, [...path, c]));
  return tree;
}

/** The `.B n` entries of the EXIT STATUS section of a page's source. */
function manExitCodes(page: string): number[] {
  const src = readFileSync(join(REPO, page), 'utf8');
  const body = /^\.SH EXIT STATUS\n([\s\S]*?)^\.SH /m.exec(src)?.[1] ?? '';
  return [...body.matchAll(/^\.TP\n\.B (\d+)$/gm)].map((m) => Number(m[1])).sort((a, b) => a - b);
}

/** A whole word (option flags are "-c", "--config": not followed by another word character or "-"). */
function mentions(text: string, word: string): boolean {
  const esc = word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[^\\w-])${esc}($|[^\\w-])`).test(text);
}

describe('man pages', () => {
  test('groff renders every page without a warning', () => {
    for (const page of Object.values(PAGES)) {
      for (const device of ['utf8', 'ascii']) {
        const r = groff(page, ['-ww', '-z', `-T${device}`]);
        assert.equal(r.status, 0, `${page}: ${r.stderr}`);
        assert.equal(r.stderr, '', `${page} (-T${device}) warnings:\n${r.stderr}`);
      }
    }
  });

  for (const program of ['tumblerd', 'tumbler'] as const) {
    test(`${program}: every command, option, default, choice and exit status of --help is in the page`, (t) => {
      if (!existsSync(join(REPO, PROGRAMS[program]))) assert.fail(`${PROGRAMS[program]} is not built: npm run build`);
      const page = program === 'tumblerd' ? PAGES.tumblerd : PAGES.tumbler;
      const sections = pageSections(page);
      const tree = walk(program);
      assert.ok(tree.length > 3, 'the help walk found the commands');
      const missing: string[] = [];
      for (const node of tree) {
        const where = `${program}${node.path ? ` ${node.path}` : ''}`;
        // A command has a subsection whose heading names it; the program's own options are under OPTIONS.
        const own = node.path ? sections.filter((s) => s.heading.includes(where)) : sections.filter((s) => s.heading === 'OPTIONS');
        if (own.length === 0) {
          missing.push(`a section for "${where}"`);
          continue;
        }
        // ... and what it documents there may sit in a subsection it names ("the bundle options").
        const ownText = own.map((s) => s.body).join(' ');
        const named = sections.filter((s) => s.heading.length > 3 && ownText.toLowerCase().includes(s.heading.toLowerCase()));
        const text = [...own, ...named].map((s) => s.body).join(' ');
        for (const o of node.options) if (!mentions(text, o)) missing.push(`option ${o} in the section of "${where}"`);
        for (const d of node.defaults) if (!text.includes(d)) missing.push(`default "${d}" in the section of "${where}"`);
        for (const c of node.choices) if (!mentions(text, c)) missing.push(`choice "${c}" in the section of "${where}"`);
      }
      assert.deepEqual(missing, [], `${page} lacks what --help shows`);
      const codes = [...new Set(tree.flatMap((n) => n.exitCodes))].sort((a, b) => a - b);
      assert.ok(codes.length >= 4, `exit codes found in --help: ${codes.join(',')}`);
      assert.deepEqual(manExitCodes(page), codes, `${page}: EXIT STATUS lists exactly the statuses of --help`);
      t.diagnostic(`${tree.length} commands checked`);
    });
  }

  test('tumblerd(8) names the V8 flags each process runs with (server/monitor/node-flags.ts)', () => {
    const text = plainText(PAGES.tumblerd);
    assert.ok(text.includes(MONITOR_NODE_FLAGS.join(' ')), 'the monitor\'s flags');
    assert.ok(text.includes(WORKER_NODE_FLAGS.join(' ')), 'the worker\'s flags');
  });

  test('tumbler-connect(1): EXIT STATUS lists exactly the statuses the program defines', () => {
    const src = readFileSync(join(REPO, 'client/connector/tumbler-connect.c'), 'utf8');
    const defined = [...src.matchAll(/^#define EXIT_[A-Z_]+ (\d+)$/gm)].map((m) => Number(m[1])).sort((a, b) => a - b);
    assert.ok(defined.length >= 5);
    assert.deepEqual(manExitCodes(PAGES.connect), defined);
  });

  test('tumblerd.toml(5) documents exactly the keys of example.toml (set or shown commented out), each in its table', () => {
    const text = readFileSync(join(REPO, 'server/config/example.toml'), 'utf8');
    const example = parse(text) as Record<string, Record<string, unknown>>;
    const expected = new Map<string, Set<string>>();
    for (const [table, value] of Object.entries(example)) {
      if (table === 'services') {
        const keys = new Set(Object.values(value as Record<string, Record<string, unknown>>).flatMap((s) => Object.keys(s)));
        expected.set('services', keys);
      } else {
        expected.set(table, new Set(Object.keys(value)));
      }
    }
    // Alternatives the example shows commented out ("# url = ..." under [store]) are keys too.
    let table = '';
    for (const line of text.split('\n')) {
      const head = /^\[([a-z]+)[^\]]*\]/.exec(line);
      if (head) table = head[1]!;
      const commented = /^# ([a-z0-9_]+) = /.exec(line);
      if (commented && table) expected.get(table)?.add(commented[1]!);
    }
    const src = readFileSync(join(REPO, PAGES.toml), 'utf8');
    const documented = new Map<string, Set<string>>();
    for (const m of src.matchAll(/^\.SH "\[([a-z]+)[^\]]*\]"\n([\s\S]*?)(?=^\.SH )/gm)) {
      documented.set(m[1]!, new Set([...m[2]!.matchAll(/^\.TP\n\.B ([a-z0-9_]+)$/gm)].map((k) => k[1]!)));
    }
    const sorted = (m: Map<string, Set<string>>): Record<string, string[]> =>
      Object.fromEntries([...m].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, [...v].sort()]));
    assert.deepEqual(sorted(documented), sorted(expected));
  });

  test('the EXAMPLE of tumblerd.toml(5) is a configuration tumblerd accepts', () => {
    const src = readFileSync(join(REPO, PAGES.toml), 'utf8');
    const block = /^\.SH EXAMPLE\n\.RS\n\.nf\n([\s\S]*?)^\.fi$/m.exec(src)?.[1];
    assert.ok(block, 'the EXAMPLE section holds a .nf block');
    const toml = block.replace(/\\-/g, '-');
    const cfg = parseConfig(toml, 'tumblerd.toml(5) EXAMPLE');
    assert.deepEqual(cfg.services.map((s) => s.name), ['ssh', 'web-admin']);
  });

  test('the pages name the paths the packages install', () => {
    const server = plainText(PAGES.tumblerd);
    for (const p of [L.CONFIG_FILE, L.EXAMPLE_CONFIG, `${L.STATE_DIR}/`, L.PID_FILE, `${L.UNIT_DIR}/${L.UNIT_NAME}`, L.SERVER_ROOT]) {
      assert.ok(server.includes(p), `tumblerd(8) names ${p}`);
    }
    const toml = plainText(PAGES.toml);
    for (const p of [L.CONFIG_FILE, L.EXAMPLE_CONFIG, L.STATE_DIR]) assert.ok(toml.includes(p), `tumblerd.toml(5) names ${p}`);
    assert.ok(mentions(toml, L.WORKER_ACCOUNT));
    const client = plainText(PAGES.tumbler);
    for (const p of [L.HELPER, L.CONNECTOR, `${L.USER_UNIT_DIR}/${L.AGENT_UNIT_NAME}`]) assert.ok(client.includes(p), `tumbler(1) names ${p}`);
    assert.ok(plainText(PAGES.connect).includes(L.CONNECTOR), `tumbler-connect(1) names ${L.CONNECTOR}`);
  });
});

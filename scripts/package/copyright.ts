/**
 * /usr/share/doc/<package>/copyright in the machine-readable format (DEP-5): Tumbler itself, then
 * one paragraph per bundled npm module with its declared licence and where its licence text is,
 * and one per esbuild bundle, naming the npm modules compiled into it and where their licence
 * texts ship (the package copies them, as the bundle keeps no comments).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface BundledModule {
  /** Install path inside the package, without the leading "/" (e.g. "usr/lib/tumbler-server/node_modules/pcap"). */
  readonly installPath: string;
  /** The module's directory in the checkout (to read its package.json and licence). */
  readonly sourceDir: string;
  readonly name: string;
  readonly version: string;
}

/** Modules esbuild compiled into one bundle of the package. */
export interface InlinedModules {
  /** The bundle's files inside the package, without the leading "/" (e.g. "usr/lib/tumbler-client/dist/client/bin"). */
  readonly installPath: string;
  /** Where their licence texts are installed, one directory per module name (no leading "/"). */
  readonly licenceDir: string;
  readonly modules: readonly Omit<BundledModule, 'installPath'>[];
}

const FORMAT = 'https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/';
export const LICENSE_FILE = /^(licen[cs]e|copying)([.-].*)?$/i;

const MIT_TEXT = `Permission is hereby granted, free of charge, to any person obtaining a copy of this software
and associated documentation files (the "Software"), to deal in the Software without restriction,
including without limitation the rights to use, copy, modify, merge, publish, distribute,
sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:
.
The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.
.
THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT
NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES
OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN
CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.`;

function indent(text: string): string {
  return text.split('\n').map((l) => ` ${l}`).join('\n');
}

/** The module's licence (SPDX expression from package.json), its licence file, and a copyright line. */
function describe(m: Omit<BundledModule, 'installPath'>): { license: string; file: string | null; copyright: string } {
  const pkg = JSON.parse(readFileSync(join(m.sourceDir, 'package.json'), 'utf8')) as { license?: unknown; author?: unknown };
  const license = typeof pkg.license === 'string' && pkg.license.trim() ? pkg.license.trim() : 'UNKNOWN';
  const file = existsSync(m.sourceDir) ? (readdirSync(m.sourceDir).find((f) => LICENSE_FILE.test(f)) ?? null) : null;
  const fromFile = file ? /^\s*(copyright\s*(?:\(c\)|©)?\s*\d{4}.*\S)\s*$/im.exec(readFileSync(join(m.sourceDir, file), 'utf8'))?.[1] : undefined;
  const author = typeof pkg.author === 'string' ? pkg.author : (pkg.author as { name?: unknown } | undefined)?.name;
  const copyright = fromFile ?? (typeof author === 'string' && author ? `the ${m.name} authors (${author})` : `the ${m.name} authors`);
  return { license, file, copyright: copyright.replace(/^copyright\s*(\(c\)|©)?\s*/i, '') };
}

export function copyrightFile(projectLicense: string, modules: readonly BundledModule[], bundles: readonly InlinedModules[] = []): string {
  const paras = [
    `Format: ${FORMAT}\nUpstream-Name: tumbler\nComment: Built from the Tumbler source tree; the npm modules below are bundled\n as installed by npm (their licence texts ship next to them), or compiled into a bundle.`,
    `Files: *\nCopyright: the Tumbler authors\nLicense: ${projectLicense}`,
  ];
  const used = new Set<string>([projectLicense]);
  for (const m of modules) {
    const d = describe(m);
    used.add(d.license);
    const where = d.file ? `\nComment: licence text: /${m.installPath}/${d.file}` : '\nComment: the module ships no licence file; see its package.json';
    paras.push(`Files: ${m.installPath}/*\nCopyright: ${d.copyright}\nLicense: ${d.license}${where}`);
  }
  for (const b of bundles) {
    const parts = b.modules.map((m) => ({ m, d: describe(m) }));
    for (const { d } of parts) used.add(d.license);
    const license = [projectLicense, ...parts.map(({ d }) => (/\s/.test(d.license) && !/^\(.*\)$/.test(d.license) ? `(${d.license})` : d.license))].join(' AND ');
    const copyright = ['the Tumbler authors', ...parts.map(({ d }) => d.copyright)].join('\n ');
    const listed = parts.map(({ m, d }) => `${m.name} ${m.version} (${d.license}; ${d.file ? `licence text: /${b.licenceDir}/${m.name}/${d.file}` : 'no licence file; see its package.json'})`);
    paras.push(`Files: ${b.installPath}/*\nCopyright: ${copyright}\nLicense: ${license}\nComment: one esbuild bundle of Tumbler's code and these npm modules:\n ${listed.join(',\n ')}`);
  }
  // One stand-alone paragraph per licence identifier used (DEP-5 asks for the text or a pointer to it).
  const ids = new Set([...used].flatMap((l) => l.replace(/[()]/g, ' ').split(/\s+(?:OR|AND|WITH)\s+|\s+/).filter(Boolean)));
  for (const id of [...ids].sort()) {
    if (id === 'MIT') {
      paras.push(`License: MIT\n${indent(MIT_TEXT)}`);
    } else {
      const common = existsSync(`/usr/share/common-licenses/${id}`) ? ` On Debian systems it is also in /usr/share/common-licenses/${id}.` : '';
      paras.push(`License: ${id}\n${indent(`The full text ships with each module under this licence (see the Comment of its Files paragraph).${common}`)}`);
    }
  }
  return `${paras.join('\n\n')}\n`;
}

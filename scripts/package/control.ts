/**
 * The DEBIAN/ control data of a binary package (deb-control(5)): the version derived from
 * package.json, the control file itself, and the Installed-Size and md5sums computed from the
 * staged tree the way dpkg-gencontrol and dh_md5sums do. Pure except for reading the tree.
 */
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TumblerError } from '../../shared/errors.js';

/** Debian package names (Debian Policy 5.6.1). */
const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]+$/;
/** A native version: no epoch, no revision (no "-"); Debian Policy 5.6.12. */
const NATIVE_VERSION = /^[0-9][A-Za-z0-9.+~]*$/;
const MAX_DESCRIPTION_LINE = 79;
const SEMVER = /^(\d+\.\d+\.\d+)(?:-([0-9A-Za-z.-]+))?(?:\+([0-9A-Za-z.-]+))?$/;

/**
 * package.json's semver as a native Debian version that sorts the same way: a pre-release sorts
 * before its release ("1.0.0-rc.1" → "1.0.0~rc.1"), build metadata follows "+".
 */
export function debianVersion(semver: string): string {
  const m = SEMVER.exec(semver);
  if (!m) throw new TumblerError('PACKAGE_VERSION', `package.json version "${semver}" is not semver (x.y.z[-pre][+build])`);
  const [, core, pre, build] = m;
  const v = `${core}${pre ? `~${pre.replace(/-/g, '.')}` : ''}${build ? `+${build.replace(/-/g, '.')}` : ''}`;
  if (!NATIVE_VERSION.test(v)) throw new TumblerError('PACKAGE_VERSION', `cannot map "${semver}" to a Debian version`);
  return v;
}

export interface ControlFields {
  readonly Package: string;
  readonly Version: string;
  readonly Architecture: string;
  readonly Maintainer: string;
  readonly 'Installed-Size': number;
  readonly Depends: readonly string[];
  readonly Recommends?: readonly string[];
  readonly Suggests?: readonly string[];
  readonly Section: string;
  readonly Priority: string;
  readonly Homepage?: string;
  readonly Description: { readonly summary: string; readonly body: readonly string[] };
}

/** One-line field values: no newline, nothing a control-file parser would misread. */
function line(field: string, v: string): string {
  if (v === '' || /[\r\n]/.test(v)) throw new TumblerError('PACKAGE_CONTROL', `control field ${field}: empty or multi-line value`);
  return `${field}: ${v}`;
}

/** The DEBIAN/control text. Description body: paragraphs as lines; "" becomes " ." (deb-control(5)). */
export function renderControl(f: ControlFields): string {
  if (!PACKAGE_NAME.test(f.Package)) throw new TumblerError('PACKAGE_CONTROL', `"${f.Package}" is not a Debian package name`);
  if (!NATIVE_VERSION.test(f.Version)) throw new TumblerError('PACKAGE_CONTROL', `"${f.Version}" is not a native Debian version`);
  if (f.Description.summary.length > 80) throw new TumblerError('PACKAGE_CONTROL', 'Description summary longer than 80 characters');
  const out = [
    line('Package', f.Package),
    line('Version', f.Version),
    line('Architecture', f.Architecture),
    line('Maintainer', f.Maintainer),
    line('Installed-Size', String(f['Installed-Size'])),
    line('Depends', f.Depends.join(', ')),
  ];
  if (f.Recommends?.length) out.push(line('Recommends', f.Recommends.join(', ')));
  if (f.Suggests?.length) out.push(line('Suggests', f.Suggests.join(', ')));
  out.push(line('Section', f.Section), line('Priority', f.Priority));
  if (f.Homepage) out.push(line('Homepage', f.Homepage));
  out.push(line('Description', f.Description.summary));
  for (const l of f.Description.body) {
    if (/[\r\n]/.test(l)) throw new TumblerError('PACKAGE_CONTROL', 'Description line with a newline');
    // Policy 3.4.1: lines of the extended description fit 80 columns with their leading space.
    if (l.length > MAX_DESCRIPTION_LINE) throw new TumblerError('PACKAGE_CONTROL', `Description line longer than ${MAX_DESCRIPTION_LINE} characters: ${l.slice(0, 40)}...`);
    out.push(l.trim() === '' ? ' .' : ` ${l}`);
  }
  return `${out.join('\n')}\n`;
}

export interface TreeEntry {
  /** Path inside the package, "/"-separated, without the leading "/" (e.g. "usr/bin/tumbler"). */
  readonly path: string;
  readonly kind: 'file' | 'dir' | 'symlink';
  readonly size: number;
}

/** Every entry under `root`, DEBIAN/ excluded, sorted by path. Anything but files, dirs and symlinks is an error. */
export function walkTree(root: string): TreeEntry[] {
  const out: TreeEntry[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const p = rel ? `${rel}/${name}` : name;
      if (p === 'DEBIAN') continue;
      const st = lstatSync(join(root, p));
      if (st.isDirectory()) {
        out.push({ path: p, kind: 'dir', size: 0 });
        walk(p);
      } else if (st.isFile()) out.push({ path: p, kind: 'file', size: st.size });
      else if (st.isSymbolicLink()) out.push({ path: p, kind: 'symlink', size: 0 });
      else throw new TumblerError('PACKAGE_TREE', `${p}: not a file, directory or symlink`);
    }
  };
  walk('');
  return out;
}

/** Installed-Size in KiB, as dpkg-gencontrol counts it: each file rounded up to 1 KiB, 1 KiB per other entry. */
export function installedSize(entries: readonly TreeEntry[]): number {
  return entries.reduce((kib, e) => kib + (e.kind === 'file' ? Math.ceil(e.size / 1024) : 1), 0);
}

/** DEBIAN/md5sums: "md5  path" for every regular file. */
export function md5sums(root: string, entries: readonly TreeEntry[]): string {
  return entries
    .filter((e) => e.kind === 'file')
    .map((e) => `${createHash('md5').update(readFileSync(join(root, e.path))).digest('hex')}  ${e.path}\n`)
    .join('');
}

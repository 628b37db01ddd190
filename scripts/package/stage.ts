/**
 * Filling a package tree (the future "/" of the package): copies that create their parents and
 * refuse symlinks and special files, gzip as Debian wants it (-9, no name, no timestamp), and one
 * final pass that sets every mode: directories 0755, files 0644, the listed executables 0755.
 * Nothing in a package is setuid; the client's postinst grants the helper its privilege.
 */
import { chmodSync, closeSync, copyFileSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { TumblerError } from '../../shared/errors.js';
import { walkTree } from './control.js';

/** Where an absolute install path lands inside the tree. */
export function inTree(tree: string, installPath: string): string {
  if (!installPath.startsWith('/') || installPath.split('/').includes('..')) {
    throw new TumblerError('PACKAGE_TREE', `${installPath}: install paths are absolute, without ".."`);
  }
  return join(tree, installPath);
}

function regularFile(src: string): void {
  const st = lstatSync(src, { throwIfNoEntry: false });
  if (!st) throw new TumblerError('PACKAGE_SOURCE_MISSING', `${src} does not exist (run the build first?)`);
  if (!st.isFile()) throw new TumblerError('PACKAGE_TREE', `${src}: only regular files are packaged (no symlinks, devices)`);
}

export function copyFileInto(src: string, tree: string, installPath: string): void {
  regularFile(src);
  const dst = inTree(tree, installPath);
  mkdirSync(dirname(dst), { recursive: true });
  copyFileSync(src, dst);
}

export function writeFileInto(tree: string, installPath: string, data: string | Buffer): void {
  const dst = inTree(tree, installPath);
  mkdirSync(dirname(dst), { recursive: true });
  writeFileSync(dst, data);
}

/** gzip -9n: no file name and a zero timestamp in the header, so the output depends on the input only. */
export function gzipInto(src: string, tree: string, installPath: string): void {
  regularFile(src);
  writeFileInto(tree, installPath, gzipSync(readFileSync(src), { level: 9 }));
}

/**
 * Copies the files of `srcDir` that `ships(rel)` accepts ("/"-separated paths relative to srcDir)
 * to `installDir`. Returns the number of files copied.
 */
export function copyTreeInto(srcDir: string, tree: string, installDir: string, ships: (rel: string) => boolean = () => true): number {
  let copied = 0;
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(srcDir, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(srcDir, r));
      if (st.isDirectory()) walk(r);
      else if (ships(r)) {
        copyFileInto(join(srcDir, r), tree, `${installDir}/${r}`);
        copied++;
      }
    }
  };
  walk('');
  return copied;
}

/** Sets every mode in the tree: directories 0755, files 0644, `executables` (install paths) 0755. */
export function setModes(tree: string, executables: ReadonlySet<string>): void {
  chmodSync(tree, 0o755);
  const files = new Set<string>();
  for (const e of walkTree(tree)) {
    if (e.kind === 'symlink') throw new TumblerError('PACKAGE_TREE', `/${e.path}: the packages carry no symlinks`);
    const installPath = `/${e.path}`;
    if (e.kind === 'file') files.add(installPath);
    chmodSync(join(tree, e.path), e.kind === 'dir' || executables.has(installPath) ? 0o755 : 0o644);
  }
  for (const x of executables) if (!files.has(x)) throw new TumblerError('PACKAGE_TREE', `${x} is listed as an executable but is not in the package`);
}

/** True for an ELF object (executable, shared object, Node addon). */
export function isElf(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(4);
    return readSync(fd, head, 0, 4, 0) === 4 && head.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
  } finally {
    closeSync(fd);
  }
}

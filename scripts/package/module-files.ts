/**
 * Which files of an installed npm package go into a Debian package: what Node loads at run time
 * (JavaScript, JSON, package.json) and the license, never tests, examples, docs, type
 * declarations, source maps or C/C++ sources. A native module (one with a binding.gyp) keeps only
 * the compiled binaries named for it; its build tree and vendored sources stay behind.
 */

/** Folders that hold nothing Node loads. */
const DROPPED_DIRS = new Set(['test', 'tests', '__tests__', 'spec', 'example', 'examples', 'benchmark', 'benchmarks', 'doc', 'docs', '.github']);
/** Files that hold nothing Node loads (TypeScript cannot run on Node 20 without a loader). */
const DROPPED_FILES = /(\.(md|markdown|ts|mts|cts|map|tsbuildinfo|gyp|gypi|c|cc|cpp|cxx|h|hh|hpp|o|a|mk|sh)|^Makefile|^Gruntfile\.js)$/i;
/** Licence texts stay whatever their extension (bindings ships LICENSE.md). */
const LICENSE = /^(licen[cs]e|copying|notice)([.-].*)?$/i;
/** Only in native modules: their build tree and vendored sources. */
const NATIVE_BUILD_DIRS = new Set(['build', 'deps', 'src']);

/**
 * Whether `rel` (a path inside the module, "/"-separated) ships. `nativeBinaries` are the paths
 * of a native module's compiled addons that ship (empty for a pure-JS module).
 */
export function shipsModuleFile(rel: string, native: boolean, nativeBinaries: readonly string[]): boolean {
  if (native && nativeBinaries.includes(rel)) return true;
  const parts = rel.split('/');
  const base = parts[parts.length - 1]!;
  const dirs = parts.slice(0, -1);
  if (dirs[0] === 'node_modules') return false; // nested packages ship as their own closure entries
  if (native && dirs.length > 0 && NATIVE_BUILD_DIRS.has(dirs[0]!)) return false;
  if (native && base === 'binding.gyp') return false;
  if (base.endsWith('.node')) return false; // a compiled addon ships only when named for its module
  if (LICENSE.test(base) && dirs.length === 0) return true;
  if (dirs.some((d) => DROPPED_DIRS.has(d) || d.startsWith('.'))) return false;
  if (base.startsWith('.')) return false;
  return !DROPPED_FILES.test(base);
}

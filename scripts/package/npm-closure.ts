/**
 * Which installed npm packages a Debian package must carry: the run-time closure of a list of
 * top-level modules, resolved through package-lock.json (lockfileVersion 2 or 3) the way Node
 * resolves a require from inside node_modules (nearest node_modules first, then upwards).
 * Modules named in `buildOnly` (needed to compile or type-check, never loaded) are left out
 * together with their own dependencies.
 */
import { TumblerError } from '../../shared/errors.js';

interface LockEntry {
  readonly version?: string;
  readonly dev?: boolean;
  readonly optional?: boolean;
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly optionalDependencies?: Readonly<Record<string, string>>;
}

export interface Lockfile {
  readonly lockfileVersion?: number;
  readonly packages: Readonly<Record<string, LockEntry>>;
}

export interface ModuleEntry {
  /** Path relative to the checkout, e.g. "node_modules/pcap/node_modules/nan". */
  readonly path: string;
  /** The package's name, e.g. "@opentelemetry/api". */
  readonly name: string;
  readonly version: string;
  /** Marked optional in the lockfile: may be absent on this platform. */
  readonly optional: boolean;
}

const NM = 'node_modules/';

/** The package name at the end of a lockfile key ("node_modules/a/node_modules/@s/b" → "@s/b"). */
export function nameOf(key: string): string {
  const i = key.lastIndexOf(NM);
  return key.slice(i + NM.length);
}

/** The lockfile key that `dep` resolves to from the package at `fromKey` ("" is the project), or null. */
export function resolveFrom(lock: Lockfile, fromKey: string, dep: string): string | null {
  let base = fromKey;
  for (;;) {
    const candidate = `${base ? `${base}/` : ''}${NM}${dep}`;
    if (lock.packages[candidate]) return candidate;
    if (base === '') return null;
    const i = base.lastIndexOf(`/${NM}`);
    base = i < 0 ? '' : base.slice(0, i);
  }
}

/** The closure of `roots` (resolved from the project), minus `buildOnly`; sorted by path. */
export function runtimeClosure(lock: Lockfile, roots: readonly string[], buildOnly: readonly string[] = []): ModuleEntry[] {
  if (lock.lockfileVersion !== undefined && lock.lockfileVersion < 2) {
    throw new TumblerError('PACKAGE_LOCKFILE', `package-lock.json version ${lock.lockfileVersion} has no "packages" map; regenerate it with npm 7 or later`);
  }
  const seen = new Map<string, ModuleEntry>();
  const visit = (fromKey: string, dep: string, optional: boolean): void => {
    if (buildOnly.includes(dep)) return;
    const key = resolveFrom(lock, fromKey, dep);
    if (key === null) {
      if (optional) return;
      throw new TumblerError('PACKAGE_MODULE_MISSING', `${dep} (needed by ${fromKey || 'the project'}) is not in package-lock.json`);
    }
    if (seen.has(key)) return;
    const entry = lock.packages[key]!;
    if (entry.dev) throw new TumblerError('PACKAGE_DEV_MODULE', `${dep} (needed by ${fromKey || 'the project'}) is a devDependency; a package must not need it at run time`);
    seen.set(key, { path: key, name: nameOf(key), version: entry.version ?? '0.0.0', optional: entry.optional === true });
    for (const d of Object.keys(entry.dependencies ?? {})) visit(key, d, false);
    for (const d of Object.keys(entry.optionalDependencies ?? {})) visit(key, d, true);
  };
  for (const r of roots) visit('', r, false);
  return [...seen.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

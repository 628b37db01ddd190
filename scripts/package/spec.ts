/**
 * The shape of a package description (the lists in build.ts) and of what the build knows about
 * the project while it runs: version, architecture, Node ABI, the rules the lists come with.
 */
import type { ModuleEntry } from './npm-closure.js';

export interface PackageSpec {
  readonly name: string;
  /** Install root of the program; mirrors the checkout's layout (scripts/package/layout.ts). */
  readonly root: string;
  readonly summary: string;
  /** Long description, one string per line ("" separates paragraphs). */
  readonly body: readonly string[];
  /** Compiled JavaScript (from the fresh tsc output), installed at the same path under root. */
  readonly compiled: readonly string[];
  /**
   * Of those, esbuild bundles (minified: their imports cannot be read reliably, and they import
   * nothing relative): checked by starting each command they hold with --version instead.
   */
  readonly bundles?: readonly string[];
  /** Checkout files or folders, installed at the same relative path under root. */
  readonly files: readonly string[];
  /** Of those, the programs (mode 0755). */
  readonly executables: readonly string[];
  /** npm modules loaded at run time; their own dependencies follow from package-lock.json. */
  readonly modules: readonly string[];
  /** Commands in /usr/bin: name → entry script under root (a small sh wrapper runs it with NODE). */
  readonly commands: Readonly<Record<string, string>>;
  /** Other checkout files, by absolute install path. */
  readonly system: Readonly<Record<string, string>>;
  /** man(7) sources; the section is the last extension. */
  readonly man: readonly string[];
  /** Installed gzipped in /usr/share/doc/<name>/. */
  readonly docs: readonly string[];
  /** Empty directories the package owns. */
  readonly dirs: readonly string[];
  /** Besides Node and the shared libraries (those are computed). */
  readonly depends: readonly string[];
  readonly recommends: readonly string[];
  readonly suggests: readonly string[];
}

/** The rules that go with the lists (build.ts): what is never shipped, the native addons, who maintains. */
export interface BuildRules {
  readonly packages: readonly string[];
  readonly buildOnly: readonly string[];
  readonly nativeBinaries: Readonly<Record<string, readonly string[]>>;
  readonly maintainer: string;
  readonly section: string;
}

/** What the build reads from package.json, git and the machine (project.ts). */
export interface ProjectInfo {
  readonly version: string;
  readonly semver: string;
  readonly license: string;
  readonly type: string;
  readonly dependencies: readonly string[];
  readonly arch: string;
  readonly nodeMajor: number;
  readonly sourceDateEpoch: string;
  readonly revision: string;
}

/** A package's tree under the staging directory, and the npm modules it carries. */
export interface Staged {
  readonly tree: string;
  readonly modules: readonly ModuleEntry[];
}

/**
 * A staged package's DEBIAN/ directory: the maintainer scripts from packaging/<package>/ with the
 * layout's @NAME@ values (syntax-checked with sh -n), md5sums, and the control file whose Depends
 * are dpkg-shlibdeps' for the ELF files plus the Node major the addons are built for.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { installedSize, md5sums, renderControl, walkTree } from './control.js';
import * as L from './layout.js';
import type { BuildRules, PackageSpec, ProjectInfo, Staged } from './spec.js';
import { isElf, writeFileInto } from './stage.js';
import { fillTemplate } from './template.js';
import { runTool, sharedLibraryDepends } from './tools.js';

const MAINTAINER_SCRIPTS = ['preinst', 'postinst', 'prerm', 'postrm'];

/** DEBIAN/: maintainer scripts, md5sums and control. */
export function writeDebianDir(spec: PackageSpec, s: Staged, inp: { repo: string; work: string; project: ProjectInfo; rules: BuildRules }): void {
  const { repo, work, project: p, rules } = inp;
  const debian = join(s.tree, 'DEBIAN');
  mkdirSync(debian, { mode: 0o755 });
  const scriptsDir = join(repo, 'packaging', spec.name);
  const scripts = existsSync(scriptsDir) ? readdirSync(scriptsDir).filter((f) => MAINTAINER_SCRIPTS.includes(f)) : [];
  for (const name of scripts) {
    const text = fillTemplate(readFileSync(join(scriptsDir, name), 'utf8'), L.substitutions(), `packaging/${spec.name}/${name}`);
    writeFileInto(s.tree, `/DEBIAN/${name}`, text);
    runTool('sh', ['-n', join(debian, name)]);
  }
  const entries = walkTree(s.tree);
  writeFileInto(s.tree, '/DEBIAN/md5sums', md5sums(s.tree, entries));
  const elf = entries.filter((e) => e.kind === 'file' && isElf(join(s.tree, e.path))).map((e) => relative(work, join(s.tree, e.path)));
  const node = [`nodejs (>= ${p.nodeMajor})`, `nodejs (<< ${p.nodeMajor + 1})`]; // the addons are built for this ABI
  const depends = [...sharedLibraryDepends(work, rules.packages, elf), ...node, ...spec.depends];
  writeFileInto(s.tree, '/DEBIAN/control', renderControl({
    Package: spec.name, Version: p.version, Architecture: p.arch, Maintainer: rules.maintainer,
    'Installed-Size': installedSize(entries), Depends: depends, Recommends: spec.recommends, Suggests: spec.suggests,
    Section: rules.section, Priority: 'optional', Description: { summary: spec.summary, body: spec.body },
  }));
  for (const f of readdirSync(debian)) chmodSync(join(debian, f), scripts.includes(f) ? 0o755 : 0o644);
}

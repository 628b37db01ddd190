/**
 * Which processes hold a file open: every /proc/<pid>/fd/<n> whose inode (device and number) is
 * the file's. `tumblerd restore` uses it to refuse while the worker, or anything else (a sqlite3
 * shell, a backup tool), has the database open, whatever pid file the daemon was started with.
 * Needs root to see other users' descriptors; unreadable entries (a process that just exited) are skipped.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';

export interface Holder {
  readonly pid: number;
  /** /proc/<pid>/comm: the process name (for the message; escaped by the caller's printer). */
  readonly name: string;
}

/** Processes (other than this one) with any of `files` open; files that do not exist are ignored. */
export function processesHolding(files: readonly string[]): Holder[] {
  const wanted = new Set<string>();
  for (const f of files) {
    try {
      const st = statSync(f);
      wanted.add(`${st.dev}:${st.ino}`);
    } catch { /* absent */ }
  }
  if (wanted.size === 0) return [];
  const holders: Holder[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue;
    }
    const holds = fds.some((fd) => {
      try {
        const st = statSync(`/proc/${entry}/fd/${fd}`);
        return wanted.has(`${st.dev}:${st.ino}`);
      } catch {
        return false;
      }
    });
    if (!holds) continue;
    let name = '?';
    try {
      name = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
    } catch { /* gone */ }
    holders.push({ pid: Number(entry), name });
  }
  return holders;
}

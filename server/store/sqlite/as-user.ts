/**
 * Run a synchronous piece of SQLite work with the worker account's identity (effective uid, gid
 * and supplementary groups), then return to root. The admin commands open the worker's database
 * this way: every path SQLite opens (the database, -wal, -shm, created or not) is then opened with
 * the worker's own rights, so a link planted in the worker's directory can reach nothing the worker
 * could not reach itself, and whatever SQLite creates belongs to the worker. The descriptors stay
 * open afterwards; nothing else runs with the lowered identity (firewall commands need root).
 */
export interface Identity {
  readonly uid: number;
  readonly gid: number;
}

export function asUser<T>(who: Identity | null, fn: () => T): T {
  if (!who || process.geteuid?.() !== 0) return fn();
  const groups = process.getgroups!();
  process.setgroups!([who.gid]);
  process.setegid!(who.gid);
  process.seteuid!(who.uid);
  try {
    return fn();
  } finally {
    process.seteuid!(0);
    process.setegid!(0);
    process.setgroups!(groups);
  }
}

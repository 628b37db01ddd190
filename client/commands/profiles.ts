/**
 * `tumbler profiles`: one line (or one JSON object) per profile: server, user, services and an
 * open grant. A profile that cannot be loaded is listed with its error code instead of failing.
 */
import { isTumblerError } from '../../shared/errors.js';
import { listProfiles, loadProfile } from '../state/profile.js';
import { printJson, profileDir } from './context.js';
import { statusView, type StatusView } from './status.js';

interface ListEntry {
  profile: string;
  gateways?: string[][];
  user?: string;
  services?: string[];
  lastGrant?: StatusView['lastGrant'];
  error?: string;
}

export async function runProfiles(o: { json?: boolean }): Promise<void> {
  const dir = profileDir();
  const now = Date.now();
  const out: ListEntry[] = [];
  for (const name of await listProfiles(dir)) {
    try {
      const v = statusView(await loadProfile(dir, name), now);
      out.push({ profile: name, gateways: v.gateways, user: v.user, services: Object.keys(v.services).sort(), lastGrant: v.lastGrant });
    } catch (e) {
      out.push({ profile: name, error: isTumblerError(e) ? e.code : 'UNREADABLE' });
    }
  }
  if (o.json) return printJson(out);
  if (!out.length) {
    process.stdout.write('no profiles yet (tumbler enroll BUNDLE)\n');
    return;
  }
  for (const e of out) {
    if (e.error) process.stdout.write(`${e.profile}  (unusable: ${e.error}; see tumbler status ${e.profile})\n`);
    else {
      const more = e.gateways!.flat().length > 1 ? ` (+${e.gateways!.flat().length - 1})` : '';
      process.stdout.write(`${e.profile}  ${e.user}@${e.gateways![0]![0]}${more}  ${e.services!.join(',')}${e.lastGrant?.active ? `  open: ${e.lastGrant.service} on ${e.lastGrant.server} port ${e.lastGrant.port}` : ''}\n`);
    }
  }
}

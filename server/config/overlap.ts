/**
 * Cross-table checks, after every table has been read on its own (CONFIG_OVERLAP):
 * the knock and forward ranges are disjoint, service ids are unique, and no service target on one
 * of this server's addresses uses a port the knock or forward range would capture.
 */
import type { Source } from './fields.js';
import type { GrantSection, KnockSection, ServerSection } from './sections.js';
import type { PortRange, ServiceConfig } from './types.js';

export function checkOverlaps(
  src: Source,
  server: ServerSection,
  knock: KnockSection,
  grant: GrantSection,
  services: readonly ServiceConfig[],
): void {
  // 1. Ranges.
  if (intersects(knock.knockPorts, grant.forwardPorts)) {
    src.fail(
      'CONFIG_OVERLAP',
      ['grant', 'ports'],
      `grant.ports ${show(grant.forwardPorts)} overlaps knock.ports ${show(knock.knockPorts)}; the ranges must be disjoint`,
    );
  }

  // 2. Service ids.
  const seen = new Map<number, string>();
  for (const s of services) {
    const other = seen.get(s.id);
    if (other !== undefined) {
      src.fail('CONFIG_OVERLAP', ['services', s.name, 'id'], `services.${s.name}.id ${s.id} is already used by services.${other}; ids must be unique`);
    }
    seen.set(s.id, s.name);
  }

  // 3. Targets on this server's addresses must stay out of both ranges.
  for (const s of services) {
    for (const [key, t] of [['target', s.target4], ['target6', s.target6]] as const) {
      if (!t || !server.addresses.includes(t.host)) continue;
      for (const [rangeName, r] of [['knock.ports', knock.knockPorts], ['grant.ports', grant.forwardPorts]] as const) {
        if (t.port >= r.first && t.port <= r.last) {
          src.fail(
            'CONFIG_OVERLAP',
            ['services', s.name, key],
            `services.${s.name}.${key} port ${t.port} on this server lies in ${rangeName} ${show(r)}; use a port outside both ranges`,
          );
        }
      }
    }
  }
}

function intersects(a: PortRange, b: PortRange): boolean {
  return a.first <= b.last && b.first <= a.last;
}

function show(r: PortRange): string {
  return `${r.first}-${r.last}`;
}

/**
 * Reading what the host's kernel would put in a SYN (client/transport/host-tcp.ts), with the
 * host's files and `ip` replaced by fixtures: sysctls, kernel release, the route's metrics and
 * device MTU, the ephemeral range less reserved and busy ports, and the fallbacks when something
 * cannot be read.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parsePortList, parseProcNetTcpPorts, parseSsPorts, readEphemeralPorts, readHostSyn, readRouteMetrics, readTcpSettings, realHostIo, type HostIo,
} from '../../../../client/transport/host-tcp.js';
import { LINUX_DEFAULT_TCP } from '../../../../shared/packet/tcp.js';

const HOST_FILES: Record<string, string> = {
  '/proc/sys/net/ipv4/tcp_rmem': '4096\t87380\t33554432\n',
  '/proc/sys/net/core/rmem_max': '4194304\n',
  '/proc/sys/net/ipv4/tcp_adv_win_scale': '1\n',
  '/proc/sys/net/ipv4/tcp_window_scaling': '1\n',
  '/proc/sys/net/ipv4/tcp_timestamps': '2\n',
  '/proc/sys/net/ipv4/tcp_sack': '0\n',
  '/proc/sys/net/ipv4/tcp_workaround_signed_windows': '0\n',
  '/proc/sys/net/ipv4/route/min_adv_mss': '256\n',
  '/proc/sys/net/ipv6/route/min_adv_mss': '1220\n',
  '/proc/sys/net/ipv4/ip_local_port_range': '40000\t40099\n',
  '/proc/sys/net/ipv4/ip_local_reserved_ports': '40010,40020-40022\n',
  '/proc/net/tcp': [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 0100007F:9C50 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0',
    '   1: 0200A8C0:9C41 0100A8C0:0016 01 00000000:00000000 02:000A7F2B 00000000  1000        0 2 1 0000000000000000 20 4 30 10 -1',
  ].join('\n'),
  '/proc/net/tcp6': [
    '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 00000000000000000000000000000000:9C42 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3 1 0000000000000000 100 0 0 10 0',
  ].join('\n'),
};

const ROUTE = '[{"type":"unicast","dst":"198.51.100.7","gateway":"192.0.2.2","dev":"eth1","prefsrc":"192.0.2.1","flags":[],"uid":1000,"cache":[],"metrics":[{"advmss":1200,"window":200000}]}]';
const LINKS = '[{"ifindex":1,"ifname":"lo","mtu":65536},{"ifindex":2,"ifname":"eth0","mtu":1500},{"ifindex":3,"ifname":"eth1","mtu":9000}]';

const SS = [
  'LISTEN 0      4096         0.0.0.0:40003      0.0.0.0:*',
  'ESTAB  0      0        192.0.2.1:40004    192.0.2.9:22',
  'LISTEN 0      128           [::]:40005         [::]:*',
  'TIME-WAIT 0   0   [::ffff:192.0.2.1]:40006 [::ffff:192.0.2.9]:443',
  'LISTEN 0      10      [fe80::1]%eth0:40007         [::]:*',
].join('\n');

function io(files: Record<string, string> = HOST_FILES, ip: string | null = `${ROUTE}\n${LINKS}\n`, release = '6.18.44-fc-v595',
  ss: string | null = null): HostIo & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    readFile: (p) => files[p] ?? null,
    ipBatch: (input) => { asked.push(input); return ip; },
    tcpSockets: () => ss,
    kernelRelease: () => release,
  };
}

test('sysctls: tcp_rmem, rmem_max, options on when non-zero, min_adv_mss by family, kernel release', () => {
  assert.deepEqual(readTcpSettings(4, io()), {
    kernel: [6, 18], rmemDefault: 87_380, rmemMax: 33_554_432, coreRmemMax: 4_194_304, advWinScale: 1,
    windowScaling: true, timestamps: true, sack: false, workaroundSignedWindows: false, minAdvMss: 256,
  });
  assert.equal(readTcpSettings(6, io()).minAdvMss, 1220);
});

test('an unreadable or malformed sysctl counts as Linux\'s default', () => {
  const files = { ...HOST_FILES, '/proc/sys/net/ipv4/tcp_rmem': '4096 87380\n', '/proc/sys/net/core/rmem_max': 'lots\n' };
  delete (files as Record<string, string>)['/proc/sys/net/ipv4/tcp_sack'];
  const t = readTcpSettings(4, io(files, null, 'weird'));
  const d = LINUX_DEFAULT_TCP[4];
  assert.deepEqual([t.rmemDefault, t.rmemMax, t.coreRmemMax, t.sack, t.kernel], [d.rmemDefault, d.rmemMax, d.coreRmemMax, d.sack, d.kernel]);
});

test('the route: metrics from `ip route get`, MTU of the outgoing device, one `ip` run', () => {
  const h = io();
  assert.deepEqual(readRouteMetrics('198.51.100.7', h), { mtu: 9000, advmss: 1200, window: 200_000 });
  assert.deepEqual(h.asked, ['route get 198.51.100.7\nlink show\n']);
  const cached = '[{"dst":"198.51.100.7","dev":"eth0","metrics":[{"mtu":1400}]}]';
  assert.deepEqual(readRouteMetrics('198.51.100.7', io(HOST_FILES, `${cached}\n${LINKS}\n`)), { mtu: 1400 }, 'a route mtu or cached path MTU wins');
});

test('a route that cannot be read counts as Ethernet; nothing but an address reaches `ip`', () => {
  assert.deepEqual(readRouteMetrics('198.51.100.7', io(HOST_FILES, null)), { mtu: 1500 });
  assert.deepEqual(readRouteMetrics('198.51.100.7', io(HOST_FILES, 'not json\n')), { mtu: 1500 });
  assert.deepEqual(readRouteMetrics('198.51.100.7', io(HOST_FILES, `[]\n${LINKS}\n`)), { mtu: 1500 });
  const h = io();
  assert.deepEqual(readRouteMetrics('198.51.100.7\nroute flush all', h), { mtu: 1500 });
  assert.deepEqual(h.asked, []);
});

test('ephemeral ports: the sysctl range, reserved ports and every local TCP port (ss) excluded', () => {
  const viaSs = readEphemeralPorts(io(HOST_FILES, null, '6.18', SS));
  assert.deepEqual([...viaSs.excluded].sort((a, b) => a - b), [40_003, 40_004, 40_005, 40_006, 40_007, 40_010, 40_020, 40_021, 40_022]);
});

test('without ss, the local TCP ports come from /proc/net/tcp and tcp6', () => {
  const p = readEphemeralPorts(io());
  assert.deepEqual([p.first, p.last], [40_000, 40_099]);
  assert.deepEqual([...p.excluded].sort((a, b) => a - b), [40_010, 40_020, 40_021, 40_022, 40_001, 40_002, 40_016].sort((a, b) => a - b));
  const fallback = readEphemeralPorts(io({}, null));
  assert.deepEqual([fallback.first, fallback.last, fallback.excluded.size], [32_768, 60_999, 0]);
});

test('port list, ss and /proc/net/tcp parsing', () => {
  assert.deepEqual([...parseSsPorts(SS)], [40_003, 40_004, 40_005, 40_006, 40_007]);
  assert.deepEqual([...parseSsPorts('garbage\n\n')], []);
  assert.deepEqual([...parsePortList('1,5-7, 9 ,x,70000-70001')], [1, 5, 6, 7, 9]);
  assert.deepEqual([...parsePortList('')], []);
  assert.deepEqual([...parseProcNetTcpPorts(HOST_FILES['/proc/net/tcp']!)], [0x9c50, 0x9c41]);
});

test('readHostSyn puts it together: the kernel model applied to these settings and this route', () => {
  const h = readHostSyn(4, '198.51.100.7', io());
  // 87380 x 50% = 43690, whole 1200-byte segments = 43200; scale for min(32 MiB, 200000) = 2^17 → 2.
  assert.deepEqual(h.fields, { window: 43_200, mss: 1200, wscale: 2, sackPermitted: false, timestamps: true });
  assert.equal(h.ports.first, 40_000);
});

test('the real host can be read (whatever its values)', () => {
  const h = readHostSyn(4, '192.0.2.1', realHostIo);
  assert.ok(h.fields.mss > 0 && h.fields.window > 0);
  assert.ok(h.ports.first >= 1 && h.ports.last >= h.ports.first);
});

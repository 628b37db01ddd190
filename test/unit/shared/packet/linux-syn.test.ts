/**
 * The Linux SYN model (shared/packet/linux-syn.ts): from host settings and route metrics to the
 * kernel's window, MSS and options — checked byte for byte against SYNs the kernel sent under those
 * settings (test/vectors/packet.json, linuxSynShapes), and by hand for the older kernels' formula
 * and the bounds.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  ETHERNET_ROUTE, LINUX_DEFAULT_TCP, buildSyn, chooseSynShape, decodeTcpOptions, linuxAdvertisedMss, linuxSynFields,
  parseFrame, parseKernelRelease, type LinuxTcpSettings, type RouteTcpMetrics,
} from '../../../../shared/packet/tcp.js';
import { fixedRandom, throwsCode } from './helpers.js';

interface ShapeCase {
  name: string;
  family: 4 | 6;
  kernel: string;
  settings: Record<string, string>;
  route: { deviceMtu: number; mtu?: number; advmss?: number; window?: number; initrwnd?: number };
  frameHex: string;
}
const V = JSON.parse(readFileSync(new URL('../../../vectors/packet.json', import.meta.url), 'utf8')) as { linuxSynShapes: { cases: ShapeCase[] } };

function settingsOf(c: ShapeCase): LinuxTcpSettings {
  const s = c.settings;
  const [, rmemDefault, rmemMax] = s.tcpRmem!.split(' ').map(Number);
  return {
    kernel: parseKernelRelease(c.kernel), rmemDefault: rmemDefault!, rmemMax: rmemMax!, coreRmemMax: Number(s.coreRmemMax),
    advWinScale: Number(s.advWinScale), windowScaling: s.windowScaling !== '0', timestamps: s.timestamps !== '0', sack: s.sack !== '0',
    workaroundSignedWindows: s.workaroundSignedWindows !== '0', minAdvMss: Number(c.family === 4 ? s.minAdvMss4 : s.minAdvMss6),
  };
}

function routeOf(c: ShapeCase): RouteTcpMetrics {
  const { deviceMtu, mtu, ...metrics } = c.route;
  return { mtu: mtu ?? deviceMtu, ...metrics };
}

describe('the kernel\'s own SYNs, rebuilt from the settings they were sent under', () => {
  for (const c of V.linuxSynShapes.cases) {
    test(c.name, () => {
      const frame = Buffer.from(c.frameHex, 'hex');
      const theirs = frame.subarray(14);
      const k = parseFrame(frame, 'EN10MB', { verifyChecksum: false });
      const opts = decodeTcpOptions(k.tcpOptions);
      const fields = linuxSynFields(c.family, settingsOf(c), routeOf(c));
      assert.equal(fields.window, k.window, 'window');
      assert.equal(fields.mss, opts.mss, 'MSS');
      assert.equal(fields.wscale, opts.wscale ?? null, 'window scale');
      // The random parts come from the capture; everything else from the model.
      const flowLabel = c.family === 6 ? theirs.readUInt32BE(0) & 0xfffff : 0;
      const shape = { ...chooseSynShape(c.family, fixedRandom('00'), fields), ipId: k.ipId, flowLabel, tsVal: opts.timestamp?.tsVal ?? 0 };
      const ours = buildSyn({ family: c.family, src: k.src, dst: k.dst, srcPort: k.srcPort, dstPort: k.dstPort, isn: k.seq, shape });
      assert.equal(ours.length, theirs.length, 'length');
      const checksumAt = (c.family === 4 ? 20 : 40) + 16;
      for (let i = 0; i < ours.length; i++) {
        if (i !== checksumAt && i !== checksumAt + 1) assert.equal(ours[i], theirs[i], `byte ${i}`);
      }
    });
  }
});

const DEFAULT4 = LINUX_DEFAULT_TCP[4];

test('Linux defaults over Ethernet: 64240 / 64800, MSS 1460 / 1440, scale 7, SACK and timestamps', () => {
  assert.deepEqual(linuxSynFields(4, DEFAULT4, ETHERNET_ROUTE), { window: 64240, mss: 1460, wscale: 7, sackPermitted: true, timestamps: true });
  assert.deepEqual(linuxSynFields(6, LINUX_DEFAULT_TCP[6], ETHERNET_ROUTE), { window: 64800, mss: 1440, wscale: 7, sackPermitted: true, timestamps: true });
});

test('the window scale follows the largest buffer: tcp_rmem[2] or rmem_max, clamped by a route window', () => {
  const scale = (t: Partial<LinuxTcpSettings>, r: Partial<RouteTcpMetrics> = {}) => linuxSynFields(4, { ...DEFAULT4, ...t }, { ...ETHERNET_ROUTE, ...r }).wscale;
  assert.equal(scale({ rmemMax: 33_554_432 }), 10);
  assert.equal(scale({ rmemMax: 33_554_431 }), 9, 'just under a power of two');
  assert.equal(scale({ rmemMax: 65_536, coreRmemMax: 4_194_304 }), 7);
  assert.equal(scale({ rmemMax: 2 ** 31, coreRmemMax: 2 ** 31 }), 14, 'never above 14');
  assert.equal(scale({ rmemMax: 4096, coreRmemMax: 4096 }), 0);
  assert.equal(scale({}, { window: 300_000 }), 3);
  assert.equal(scale({ windowScaling: false }), null);
});

test('kernels before 6.6 turn the buffer into a window with tcp_adv_win_scale', () => {
  const win = (advWinScale: number, rmemDefault: number, kernel: [number, number] = [6, 1]) =>
    linuxSynFields(4, { ...DEFAULT4, kernel, advWinScale, rmemDefault }, ETHERNET_ROUTE).window;
  assert.equal(win(1, 87_380), 42_340, '87380 - 87380/2 = 43690, whole segments');
  assert.equal(win(2, 87_380), 64_240, '87380 - 87380/4 = 65535');
  assert.equal(win(-1, 87_380), 42_340, '87380 / 2');
  assert.equal(win(-2, 131_072), 32_120, '131072 / 4 = 32768');
  assert.equal(win(2, 87_380, [6, 6]), 42_340, '6.6 and later ignore tcp_adv_win_scale (50% of the buffer)');
  assert.equal(win(2, 87_380, [5, 15]), 64_240);
});

test('the MSS: route advmss, else the path MTU less the headers, within the kernel\'s bounds', () => {
  const mss = (family: 4 | 6, r: RouteTcpMetrics, minAdvMss?: number) =>
    linuxAdvertisedMss(family, { ...LINUX_DEFAULT_TCP[family], ...(minAdvMss !== undefined && { minAdvMss }) }, r);
  assert.equal(mss(4, { mtu: 1500 }), 1460);
  assert.equal(mss(6, { mtu: 1500 }), 1440);
  assert.equal(mss(4, { mtu: 65_536 }), 65_495, 'loopback');
  assert.equal(mss(6, { mtu: 65_536 }), 65_476);
  assert.equal(mss(6, { mtu: 70_000 }), 65_535, 'IPv6 beyond the largest non-jumbo payload');
  assert.equal(mss(4, { mtu: 200 }), 256, 'net.ipv4.route.min_adv_mss');
  assert.equal(mss(6, { mtu: 1280 }, 1300), 1300, 'net.ipv6.route.min_adv_mss');
  assert.equal(mss(4, { mtu: 1500, advmss: 900 }), 900);
});

test('window limits: signed-window workaround, route initrwnd, 16 bits', () => {
  const f = (t: Partial<LinuxTcpSettings>, r: Partial<RouteTcpMetrics> = {}) => linuxSynFields(4, { ...DEFAULT4, ...t }, { ...ETHERNET_ROUTE, ...r });
  assert.equal(f({ workaroundSignedWindows: true }).window, 32_767);
  assert.equal(f({}, { initrwnd: 4 }).window, 4 * 1460);
  assert.equal(f({ rmemDefault: 1_000_000 }).window, 65_535);
  assert.equal(f({ rmemDefault: 1000 }).window, 500, 'below one segment: not rounded');
});

test('kernel release parsing', () => {
  assert.deepEqual(parseKernelRelease('6.18.44-fc-v595'), [6, 18]);
  assert.deepEqual(parseKernelRelease('6.1.0-18-amd64'), [6, 1]);
  assert.deepEqual(parseKernelRelease('5.15.0'), [5, 15]);
  throwsCode(() => parseKernelRelease('linux'), 'PACKET_HOST_SETTINGS');
});

test('settings or metrics out of range are PACKET_HOST_SETTINGS', () => {
  throwsCode(() => linuxSynFields(4, { ...DEFAULT4, rmemDefault: -1 }, ETHERNET_ROUTE), 'PACKET_HOST_SETTINGS');
  throwsCode(() => linuxSynFields(4, { ...DEFAULT4, advWinScale: 40 }, ETHERNET_ROUTE), 'PACKET_HOST_SETTINGS');
  throwsCode(() => linuxSynFields(4, DEFAULT4, { mtu: 0 }), 'PACKET_HOST_SETTINGS');
  throwsCode(() => linuxSynFields(4, DEFAULT4, { mtu: 1500, advmss: 70_000 }), 'PACKET_HOST_SETTINGS');
  throwsCode(() => linuxSynFields(5 as 4, DEFAULT4, ETHERNET_ROUTE), 'PACKET_HOST_SETTINGS');
});

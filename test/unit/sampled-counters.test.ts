import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeSource, ethdevField, ethdevList, parseCounterSource, TELEMETRY_SCRIPT } from '../../src/tracer/counters.ts';
import { stageFunctionOf } from '../../src/tracer/sampled.ts';

test('packet counter sources parse from the command line form', () => {
  assert.deepEqual(parseCounterSource('dev:veth0'), { kind: 'netdev', iface: 'veth0', field: 'rx_packets' });
  assert.deepEqual(parseCounterSource('dev:lo:tx@pp123x'), { kind: 'netdev', iface: 'lo', field: 'tx_packets', netns: 'pp123x' });
  assert.deepEqual(parseCounterSource('dpdk:/var/run/dpdk/rte/dpdk_telemetry.v2'), {
    kind: 'dpdk', socket: '/var/run/dpdk/rte/dpdk_telemetry.v2', port: 'all', field: 'ipackets',
  });
  assert.deepEqual(parseCounterSource('dpdk:/var/run/dpdk/x/dpdk_telemetry.v2:1:tx'), {
    kind: 'dpdk', socket: '/var/run/dpdk/x/dpdk_telemetry.v2', port: 1, field: 'opackets',
  });
  assert.equal(describeSource(parseCounterSource('dev:lo:tx@ns1')), 'netdev lo tx_packets (netns ns1)');
});

test('hostile or malformed counter names are refused with a clear error', () => {
  for (const bad of ['dev:..', 'dev:a/b', 'dev:thisnameistoolong0', 'dev:lo@../../etc', 'dev:lo@a b', 'dpdk:relative/path', 'pcap:x', '']) {
    assert.throws(() => parseCounterSource(bad), /not a valid name|expected dev:|absolute|packet counter/, bad);
  }
});

test('telemetry replies are validated', () => {
  assert.deepEqual(ethdevList([0, 1]), [0, 1]);
  assert.throws(() => ethdevList({ ports: 1 }), /list of port ids/);
  assert.throws(() => ethdevList([0, -1]), /list of port ids/);
  assert.equal(ethdevField({ ipackets: 12, opackets: 3 }, 'ipackets', 0), 12);
  assert.throws(() => ethdevField({ opackets: 3 }, 'ipackets', 0), /no ipackets/);
  assert.throws(() => ethdevField(null, 'opackets', 2), /stats,2/);
  // The helper takes its input from argv only: no formatting of user text into the script.
  assert.doesNotMatch(TELEMETRY_SCRIPT, /\$\{|%s|format\(/);
});

test('sampled mode needs stage functions by name', () => {
  assert.deepEqual(stageFunctionOf({ name: 'rx', spec: 'uprobe:/opt/fwd:eth_rx' }), { name: 'rx', symbol: 'eth_rx', module: 'fwd' });
  assert.deepEqual(stageFunctionOf({ name: 'rt', spec: 'uprobe:/opt/fwd:route:packets=ret' }), { name: 'rt', symbol: 'route', module: 'fwd' });
  assert.deepEqual(stageFunctionOf({ name: 'k', spec: 'kprobe:ip_forward' }), { name: 'k', symbol: 'ip_forward', module: null });
  assert.throws(() => stageFunctionOf({ name: 'o', spec: 'uprobe:/opt/fwd:0x1234' }), /address/);
  assert.throws(() => stageFunctionOf({ name: 't', spec: 'tracepoint:net:netif_rx' }), /not uprobe/);
});

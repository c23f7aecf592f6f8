/**
 * NETCONF framing memory against a real SSH session (issue 14 item 10): a device
 * sending a message of 1-byte chunks up to the message budget and beyond. The
 * collector's decoder copies chunk data into one buffer, so its heap stays near
 * the budget (it was ~107 bytes of heap per data byte: ~430 MiB for 4 MiB), and the
 * session ends with a typed PROTOCOL_ERROR counted as `too-large`.
 */
import assert from 'node:assert/strict';
import type { SubscriptionProfile } from '../../core/device';
import { SessionError } from '../../core/session';
import { createNetconfProtocol } from '../../protocols/netconf/index';
import { SimDevice } from '../../simulator/model';
import { startNetconfServer, type NetconfServer } from '../../simulator/netconf/server';
import { outcomeWithin, until } from '../../testkit/until';
import { localNetconfDevice } from '../support/netconf-device';

const BUDGET = 4 * 1024 * 1024;

describe('netconf framing memory: 1-byte chunks up to the budget', function () {
  this.timeout(60_000);
  let server: NetconfServer;
  before(async () => {
    server = await startNetconfServer({ device: new SimDevice({ name: 'tiny-chunks', interfaces: 2 }), users: [{ username: 'u', password: 'p' }] });
  });
  after(() => server.close());

  it('heap stays within 64 MiB over the budget and the session ends with PROTOCOL_ERROR (too-large)', async () => {
    // A message timeout long enough that only the size budget can end this message.
    const protocol = createNetconfProtocol({ rpcTimeoutMs: 10_000, messageTimeoutMs: 50_000, idleTimeoutMs: 50_000, connectTimeoutMs: 5000 });
    const counters: Array<[string, Record<string, string> | undefined]> = [];
    let points = 0;
    const abort = new AbortController();
    const dev = localNetconfDevice(server, { maxMessageBytes: BUDGET }, { name: 'tiny', username: 'u', secrets: { password: 'p' } });
    const profiles: SubscriptionProfile[] = [
      {
        id: 1,
        name: 'push',
        protocol: 'netconf',
        netconf: { method: 'yang-push-periodic', filterType: 'subtree', filter: '<system-health xmlns="urn:switch-telemetry:yang:sim-system-health"/>', periodMs: 1000, dampeningMs: 0, stream: 'NETCONF', listKeys: {} },
      },
    ];
    const run = protocol.run({
      device: dev,
      profiles,
      sink: { push: (p) => void (points += p.length) },
      signal: abort.signal,
      onEvent: () => {},
      count: (name, _by, labels) => void counters.push([name, labels]),
      log: { info() {}, warn() {}, error() {}, debug() {} },
    });
    await until('session established', () => points > 0, 10_000);
    global.gc?.();
    const before = process.memoryUsage();
    let peakHeap = before.heapUsed;
    let peakRss = before.rss;
    const sampler = setInterval(() => {
      const m = process.memoryUsage();
      peakHeap = Math.max(peakHeap, m.heapUsed);
      peakRss = Math.max(peakRss, m.rss);
    }, 10);
    const started = Date.now();
    server.faults.sendOneByteChunks(BUDGET + 1);
    const err = await outcomeWithin(run, 40_000);
    clearInterval(sampler);
    abort.abort();
    const heapGrowth = (peakHeap - before.heapUsed) / 1048576;
    const rssGrowth = (peakRss - before.rss) / 1048576;
    console.log(`      1-byte chunks to ${BUDGET / 1048576} MiB: ended after ${Date.now() - started} ms; heap +${heapGrowth.toFixed(1)} MiB, RSS +${rssGrowth.toFixed(1)} MiB (simulator included)`);
    assert.ok(err instanceof SessionError, `expected a SessionError, got ${String(err)}`);
    assert.equal(err.code, 'PROTOCOL_ERROR', err.message);
    assert.match(err.message, /too-large/);
    assert.deepEqual(counters.filter(([n]) => n === 'netconf_hostile_messages_total'), [['netconf_hostile_messages_total', { reason: 'too-large' }]]);
    assert.ok(heapGrowth < 64, `heap grew ${heapGrowth.toFixed(1)} MiB for a ${BUDGET / 1048576} MiB budget`);
    assert.ok(rssGrowth < 256, `RSS grew ${rssGrowth.toFixed(1)} MiB`);
  });
});

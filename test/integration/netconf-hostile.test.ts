import assert from 'node:assert/strict';
import type { SubscriptionProfile } from '../../core/device';
import { SessionError } from '../../core/session';
import { createNetconfProtocol } from '../../protocols/netconf/index';
import { SimDevice } from '../../simulator/model';
import { startNetconfServer, type NetconfFaults, type NetconfServer } from '../../simulator/netconf/server';
import { outcomeWithin, until } from '../../testkit/until';
import { localNetconfDevice } from '../support/netconf-device';

const protocol = createNetconfProtocol({ rpcTimeoutMs: 3000, messageTimeoutMs: 800, idleTimeoutMs: 5000, connectTimeoutMs: 3000 });

/** Every hostile input the simulator can send, and the counter reason the collector must record. */
const cases: Array<{ name: string; inject: (f: NetconfFaults) => void; reason: string; maxMessageBytes?: number }> = [
  { name: 'malformed chunked framing', inject: (f) => f.sendMalformedFraming(), reason: 'malformed-framing' },
  { name: 'chunk header announcing 4 GB', inject: (f) => f.sendHugeChunkHeader(), reason: 'too-large' },
  { name: 'billion laughs (DOCTYPE)', inject: (f) => f.sendBillionLaughs(), reason: 'xml-doctype' },
  { name: 'deep nesting', inject: (f) => f.sendDeepNesting(), reason: 'xml-depth' },
  { name: 'never-ending message (times out)', inject: (f) => f.sendNeverEndingMessage(), reason: 'never-ending-message' },
  { name: 'never-ending message (hits the size cap first)', inject: (f) => f.sendNeverEndingMessage(), reason: 'too-large', maxMessageBytes: 64 * 1024 },
];

describe('netconf hostile inputs', function () {
  this.timeout(15000);
  let server: NetconfServer;

  beforeEach(async () => {
    server = await startNetconfServer({ device: new SimDevice({ name: 'hostile', interfaces: 2 }), users: [{ username: 'u', password: 'p' }] });
  });
  afterEach(() => server.close());

  for (const c of cases) {
    it(`${c.name} → PROTOCOL_ERROR and netconf_hostile_messages_total{reason=${c.reason}}`, async () => {
      const counters: Array<[string, Record<string, string> | undefined]> = [];
      let points = 0;
      const abort = new AbortController();
      const dev = localNetconfDevice(server, { maxMessageBytes: c.maxMessageBytes }, { name: 'h', username: 'u', secrets: { password: 'p' } });
      const profiles: SubscriptionProfile[] = [
        { id: 1, name: 'push', protocol: 'netconf', netconf: { method: 'yang-push-periodic', filterType: 'subtree', filter: '<system-health xmlns="urn:switch-telemetry:yang:sim-system-health"/>', periodMs: 1000, dampeningMs: 0, stream: 'NETCONF', listKeys: {} } },
      ];
      const heapBefore = process.memoryUsage().heapUsed;
      const run = protocol.run({
        device: dev,
        profiles,
        sink: { push: (p) => void (points += p.length) },
        signal: abort.signal,
        onEvent: () => {},
        count: (name, _by, labels) => void counters.push([name, labels]),
        log: { info() {}, warn() {}, error() {}, debug() {} },
      });
      await until('session established', () => points > 0, 5000);
      const started = Date.now();
      c.inject(server.faults);
      const err = await outcomeWithin(run, 8000);
      abort.abort();
      assert.ok(err instanceof SessionError, `expected a SessionError, got ${String(err)}`);
      assert.equal(err.code, 'PROTOCOL_ERROR', err.message);
      assert.deepEqual(
        counters.filter(([n]) => n === 'netconf_hostile_messages_total'),
        [['netconf_hostile_messages_total', { reason: c.reason }]],
      );
      assert.ok(Date.now() - started < 5000, 'ended promptly');
      assert.ok(process.memoryUsage().heapUsed - heapBefore < 200 * 1024 * 1024, 'memory stayed bounded');
    });
  }
});

/**
 * The reconnecting LISTEN connection (storage/listen.ts) on real PostgreSQL, shared by the live
 * hub and the collectors' hand-over listener: it hears its channels only; when the server ends
 * its connection it reports the error, reconnects, says it reconnected (so the owner catches up)
 * and hears again; when the server cannot be reached it keeps trying until it can.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { listenReconnecting, type Listener } from '../../storage/listen';
import { until } from '../../testkit/until';
import { createTestDatabase, type TestDatabase } from '../support/db';

describe('storage: reconnecting LISTEN connection', function () {
  this.timeout(60_000);
  let tdb: TestDatabase;
  const listeners: Listener[] = [];
  before(async () => {
    tdb = await createTestDatabase('storage_listen');
  });
  after(async () => {
    await Promise.all(listeners.map((l) => l.close()));
    await tdb?.drop();
  });

  /** A listener on two channels recording what it hears, its (re)connections and errors. */
  function start(databaseUrl: string) {
    const heard: string[] = [];
    const connected: boolean[] = [];
    const errors: string[] = [];
    const l = listenReconnecting({
      databaseUrl,
      channels: ['listen_test_a', 'listen_test_b'],
      retryMs: 100,
      onNotification: (channel, payload) => heard.push(`${channel}:${payload}`),
      onConnected: (reconnected) => connected.push(reconnected),
      onError: (err) => errors.push(err.message),
    });
    listeners.push(l);
    return { l, heard, connected, errors };
  }

  const notify = (channel: string, payload: string) => tdb.db.raw('SELECT pg_notify(?, ?)', [channel, payload]);

  it('hears its channels only, and after the server ends its connection reconnects, says so, and hears again', async () => {
    const { l, heard, connected, errors } = start(tdb.url);
    await l.ready();
    assert.ok(l.connected);
    assert.deepEqual(connected, [false]);
    await notify('listen_test_a', 'one');
    await notify('listen_test_other', 'not mine');
    await notify('listen_test_b', 'two');
    await until('both heard', async () => heard.length >= 2, 10_000, 20);
    assert.deepEqual(heard, ['listen_test_a:one', 'listen_test_b:two']);

    const { rows } = await tdb.db.raw(`SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE query LIKE 'LISTEN listen_test_a%' AND pid <> pg_backend_pid()`);
    assert.equal(rows.length, 1, 'exactly one LISTEN connection');
    await until('reconnected', async () => connected.length === 2 && l.connected, 20_000, 20);
    assert.deepEqual(connected, [false, true]);
    assert.ok(errors.length >= 1, 'the dropped connection was reported');
    await notify('listen_test_a', 'three');
    await until('heard after the reconnect', async () => heard.includes('listen_test_a:three'), 10_000, 20);
  });

  it('keeps trying while the server cannot be reached, then listens once it can', async () => {
    // A port that refuses until the test forwards it to the real server.
    const target = new URL(tdb.url);
    let forward = false;
    const proxy = net.createServer((client) => {
      if (!forward) return client.destroy();
      const upstream = net.connect(Number(target.port), target.hostname);
      client.pipe(upstream).pipe(client);
      const end = () => (client.destroy(), upstream.destroy());
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const url = new URL(tdb.url);
      url.hostname = '127.0.0.1';
      url.port = String((proxy.address() as net.AddressInfo).port);
      const { l, heard, connected, errors } = start(url.toString());
      await until('three failed attempts', async () => errors.length >= 3, 20_000, 20);
      assert.equal(l.connected, false);
      assert.deepEqual(connected, []);
      await assert.rejects(l.ready(), 'ready() fails while the server cannot be reached (a live stream then fails at once)');
      forward = true;
      await until(
        'listening through the proxy',
        async () => {
          await l.ready().catch(() => undefined);
          return l.connected;
        },
        20_000,
        20,
      );
      await l.ready();
      assert.deepEqual(connected, [true], 'the first connection after failures counts as a reconnect (anything sent meanwhile was missed)');
      await notify('listen_test_b', 'late');
      await until('heard', async () => heard.includes('listen_test_b:late'), 10_000, 20);
      await l.close();
      assert.equal(l.connected, false);
    } finally {
      proxy.close();
    }
  });

  it('refuses a channel name that is not an identifier', () => {
    assert.throws(() => listenReconnecting({ databaseUrl: tdb.url, channels: ['a; DROP TABLE devices'], onNotification: () => undefined }), /not a channel name/);
  });
});

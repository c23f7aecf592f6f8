/** The device page's interfaces table reads OpenConfig (gNMI) and ietf-interfaces (NETCONF) leaves alike. */
import assert from 'node:assert/strict';
import { deviceInterfaces, interfaceLeaf } from '../../web/app/lib/interfaces.server';
import { createTestDatabase, type TestDatabase } from '../support/db';

describe('web: interfaces table', () => {
  let tdb: TestDatabase;
  before(async () => {
    tdb = await createTestDatabase('web_interfaces');
  });
  after(async () => tdb?.drop());

  it('recognises the interface leaves of OpenConfig and both ietf-interfaces trees, and nothing else', () => {
    const table: Array<[string, string | null, string | null]> = [
      ['/interfaces/interface[name=Ethernet1]/state/counters/in-octets', 'Ethernet1', 'in-octets'],
      ['/interfaces/interface[name=Ethernet1/1]/state/oper-status', 'Ethernet1/1', 'oper-status'],
      ['/interfaces-state/interface[name=eth0]/statistics/out-octets', 'eth0', 'out-octets'],
      ['/interfaces-state/interface[name=eth0]/oper-status', 'eth0', 'oper-status'],
      ['/interfaces-state/interface[name=eth0]/statistics/in-unicast-pkts', null, null],
      ['/interfaces/interface[name=eth1]/statistics/in-errors', 'eth1', 'in-errors'],
      ['/interfaces/interface[name=eth1]/oper-status', 'eth1', 'oper-status'],
      ['/interfaces/interface[name=eth1]/enabled', null, null],
      ['/system/memory/state/used', null, null],
    ];
    for (const [path, name, leaf] of table) {
      const m = interfaceLeaf(path);
      assert.equal(m?.[1] ?? null, name, path);
      assert.equal(m ? (m[3] ?? m[2]) : null, leaf, path);
    }
  });

  it('computes bits/s and oper-status for a NETCONF device', async () => {
    const [dev] = await tdb.db('devices').insert({ name: 'nc1', protocol: 'netconf', host: 'h', port: 830 }).returning('id');
    const [inS] = await tdb.db('series').insert({ device_id: dev.id, path: '/interfaces-state/interface[name=eth0]/statistics/in-octets', kind: 'number' }).returning('id');
    const [st] = await tdb.db('series').insert({ device_id: dev.id, path: '/interfaces-state/interface[name=eth0]/oper-status', kind: 'text' }).returning('id');
    const t0 = Date.now() - 10_000;
    await tdb.pool.query(
      `INSERT INTO samples (time, series_id, value) VALUES (to_timestamp($1::float8 / 1000), $2, 1000), (to_timestamp($3::float8 / 1000), $2, 3500)`,
      [t0, inS.id, t0 + 5000],
    );
    await tdb.pool.query(`INSERT INTO states (time, series_id, value) VALUES (now(), $1, 'up')`, [st.id]);
    const rows = await deviceInterfaces(tdb.db, dev.id);
    assert.equal(rows.length, 1);
    assert.equal(rows[0].name, 'eth0');
    assert.equal(rows[0].operStatus, 'up');
    assert.equal(rows[0].inBps, ((3500 - 1000) / 5) * 8);
  });

  it('computes bits/s and oper-status for an NMDA NETCONF device (/interfaces, statistics under each interface)', async () => {
    const [dev] = await tdb.db('devices').insert({ name: 'nc-nmda', protocol: 'netconf', host: 'h', port: 830 }).returning('id');
    const [outS] = await tdb.db('series').insert({ device_id: dev.id, path: '/interfaces/interface[name=Ethernet2]/statistics/out-octets', kind: 'number' }).returning('id');
    const [st] = await tdb.db('series').insert({ device_id: dev.id, path: '/interfaces/interface[name=Ethernet2]/oper-status', kind: 'text' }).returning('id');
    const t0 = Date.now() - 10_000;
    await tdb.pool.query(
      `INSERT INTO samples (time, series_id, value) VALUES (to_timestamp($1::float8 / 1000), $2, 0), (to_timestamp($3::float8 / 1000), $2, 1000)`,
      [t0, outS.id, t0 + 2000],
    );
    await tdb.pool.query(`INSERT INTO states (time, series_id, value) VALUES (now(), $1, 'down')`, [st.id]);
    const rows = await deviceInterfaces(tdb.db, dev.id);
    assert.deepEqual(rows.map((r) => [r.name, r.operStatus, r.outBps]), [['Ethernet2', 'down', 4000]]);
  });
});

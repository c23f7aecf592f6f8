/**
 * NMDA devices: the collector's <get-data> on ds:operational, and the default
 * profile's `interfaces-auto` choosing /interfaces or /interfaces-state from the
 * ietf-interfaces revision in the simulator's hello.
 */
import assert from 'node:assert/strict';
import { NetconfProfileSpec, type SubscriptionProfile } from '../../core/device';
import { SessionError } from '../../core/session';
import { createNetconfProtocol } from '../../protocols/netconf/index';
import { SimDevice } from '../../simulator/model';
import { startNetconfServer, type NetconfServer } from '../../simulator/netconf/server';
import { DEFAULT_NETCONF_PROFILE } from '../../core/default-profiles';
import { until as untilEvery } from '../../testkit/until';
import { localNetconfDevice, recordSession, type RecordedSession } from '../support/netconf-device';

const until = (what: string, cond: () => boolean, ms = 8000) => untilEvery(what, cond, ms);

const IF = 'urn:ietf:params:xml:ns:yang:ietf-interfaces';
const protocol = createNetconfProtocol({ rpcTimeoutMs: 2000, messageTimeoutMs: 1000, idleTimeoutMs: 3000, connectTimeoutMs: 3000 });

type Run = RecordedSession;

function collect(server: NetconfServer, spec: NetconfProfileSpec): Run {
  const profile: SubscriptionProfile = { id: 1, name: 'p', protocol: 'netconf', netconf: spec };
  return recordSession(protocol, localNetconfDevice(server, {}, { id: 9, name: 'nmda' }), profile);
}

const getData = (filter: string): NetconfProfileSpec => NetconfProfileSpec.parse({ method: 'get-data', filter, periodMs: 150 });

describe('netconf NMDA: get-data and the ietf-interfaces tree chosen from the hello', function () {
  this.timeout(20_000);
  let server: NetconfServer | undefined;
  let run: Run | undefined;
  const start = async (nmda: boolean) => {
    server = await startNetconfServer({ device: new SimDevice({ name: 'n', interfaces: 3 }), users: [{ username: 'admin', password: 'secret' }], nmda });
    return server;
  };
  afterEach(async () => {
    run?.abort.abort();
    await run?.done.catch(() => undefined);
    run = undefined;
    await server?.close();
  });

  it('get-data on ds:operational polls the NMDA /interfaces tree (statistics and oper-status per interface)', async () => {
    run = collect(await start(true), getData(`<interfaces xmlns="${IF}"><interface><statistics><in-octets/></statistics><oper-status/></interface></interfaces>`));
    const inOctets = '/interfaces/interface[name=Ethernet2]/statistics/in-octets';
    await until('three polls', () => run!.points.filter((p) => p.path === inOctets).length >= 3);
    const v = run.points.filter((p) => p.path === inOctets).map((p) => p.value as number);
    assert.ok(v[2] > v[0], `counter grows: ${v}`);
    assert.ok(run.points.some((p) => p.path === '/interfaces/interface[name=Ethernet1]/oper-status'));
    assert.ok(!run.points.some((p) => p.path.startsWith('/interfaces-state')), 'only the tree asked for');
  });

  it('get-data on a device without ietf-netconf-nmda is a configuration error naming the capability', async () => {
    run = collect(await start(false), getData(`<interfaces xmlns="${IF}"/>`));
    const err = await run.done.then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof SessionError && err.code === 'CONFIG_INVALID', String(err));
    assert.match(err.message, /get-data needs ietf-netconf-nmda/);
  });

  for (const nmda of [true, false]) {
    const root = nmda ? 'interfaces' : 'interfaces-state';
    it(`the default profile (interfaces-auto) collects /${root} from a ${nmda ? 'NMDA' : 'pre-NMDA'} device`, async () => {
      assert.equal(DEFAULT_NETCONF_PROFILE.spec.select, 'interfaces-auto');
      run = collect(await start(nmda), { ...DEFAULT_NETCONF_PROFILE.spec, periodMs: 200 });
      const path = `/${root}/interface[name=Ethernet3]/statistics/out-octets`;
      await until(`${path} twice`, () => run!.points.filter((p) => p.path === path).length >= 2);
      const other = nmda ? '/interfaces-state/' : '/interfaces/';
      assert.ok(!run.points.some((p) => p.path.startsWith(other)), `nothing from ${other}`);
      assert.ok(run.points.some((p) => p.path === `/${root}/interface[name=Ethernet3]/oper-status`));
      const connected = run.events.find((e) => e.type === 'connected') as { detail: string };
      assert.match(connected.detail, new RegExp(`collecting /${root} \\(ietf-interfaces ${nmda ? '2018-02-20' : '2014-05-08'}\\)`));
    });
  }
});

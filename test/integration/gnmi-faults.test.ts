import assert from 'node:assert/strict';
import { gnmiProtocol } from '../../protocols/gnmi/index';
import { SessionError } from '../../core/session';
import { SimDevice } from '../../simulator/model';
import { startGnmiTarget, type GnmiTarget } from '../../simulator/gnmi/target';
import { gnmiProfile, localGnmiDevice, recordingContext, type RecordingContext } from '../../simulator/gnmi/harness';

const IN_OCTETS = '/interfaces/interface[name=Ethernet1]/state/counters/in-octets';
const profile = (sampleIntervalMs = 20) =>
  gnmiProfile({ subscriptions: [{ path: IN_OCTETS, mode: 'sample', sampleIntervalMs, heartbeatIntervalMs: 0, suppressRedundant: false }] });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('gNMI faults: malformed, oversized, dropped, stalled, slow', function () {
  this.timeout(15_000);
  let target: GnmiTarget;
  let ctx: RecordingContext;
  let run: Promise<void>;

  function start(settings = {}, sampleIntervalMs = 20) {
    ctx = recordingContext(localGnmiDevice(target.port, settings), [profile(sampleIntervalMs)]);
    run = gnmiProtocol.run(ctx);
    run.catch(() => undefined);
    return ctx.waitFor(() => ctx.points.length >= 1, 5000, 'first points');
  }
  async function failure(): Promise<SessionError> {
    const err = await Promise.race([run.then(() => null, (e) => e), sleep(5000).then(() => 'timeout')]);
    assert.ok(err instanceof SessionError, `expected the session to fail, got ${err}`);
    return err;
  }

  beforeEach(async () => {
    target = await startGnmiTarget({ device: new SimDevice({ name: 'faulty', interfaces: 2 }), port: 0 });
  });
  afterEach(async () => {
    ctx?.controller.abort();
    await run?.catch(() => undefined);
    await target.close();
  });

  it('malformed data ends the attempt with a retryable PROTOCOL_ERROR and a counter', async () => {
    await start();
    assert.equal(target.faults.sendMalformed(), 1);
    const err = await failure();
    assert.equal(err.code, 'PROTOCOL_ERROR');
    assert.equal(err.retryable, true);
    assert.equal(ctx.counters.get('gnmi_malformed_messages_total'), 1);
  });

  it('unparseable JSON inside a valid message is malformed too', async () => {
    await start();
    target.faults.sendMalformed('json');
    const err = await failure();
    assert.equal(err.code, 'PROTOCOL_ERROR');
    assert.match(err.message, /MALFORMED_JSON/);
    assert.equal(ctx.counters.get('gnmi_malformed_messages_total'), 1);
  });

  it('a message above maxMessageBytes ends the attempt with PROTOCOL_ERROR and a counter', async () => {
    await start({ maxMessageBytes: 64 * 1024 });
    target.faults.sendOversized(200 * 1024);
    const err = await failure();
    assert.equal(err.code, 'PROTOCOL_ERROR');
    assert.match(err.message, /larger than max/);
    assert.equal(ctx.counters.get('gnmi_oversized_messages_total'), 1);
    assert.equal(ctx.counters.get('gnmi_malformed_messages_total'), undefined);
  });

  it('a message below maxMessageBytes is accepted', async () => {
    await start({ maxMessageBytes: 512 * 1024 });
    target.faults.sendOversized(200 * 1024);
    await ctx.waitFor(() => ctx.points.some((p) => p.path === '/system/state/motd-banner'), 3000, 'the large message');
  });

  it('a dropped stream is a retryable UNAVAILABLE, and a new attempt streams again', async () => {
    await start();
    assert.equal(target.faults.dropStreams(), 1);
    const err = await failure();
    assert.equal(err.code, 'UNAVAILABLE');
    assert.equal(err.retryable, true);
    const last = ctx.points.at(-1)!;
    // The retry (Temporal's job in production) is a fresh run against the same target.
    await start();
    await ctx.waitFor(() => ctx.points.length >= 2, 3000, 'points after reconnect');
    assert.ok(ctx.points.at(-1)!.timestamp > last.timestamp);
    assert.ok((ctx.points.at(-1)!.value as number) > (last.value as number));
  });

  it('a target that goes away is UNAVAILABLE (retryable)', async () => {
    const port = target.port;
    await target.close();
    ctx = recordingContext(localGnmiDevice(port), [profile()]);
    run = gnmiProtocol.run(ctx);
    const err = await failure();
    assert.equal(err.code, 'UNAVAILABLE');
    target = await startGnmiTarget({ device: new SimDevice({ name: 'again' }), port: 0 });
  });

  it('stall: no data while stalled, data again afterwards', async () => {
    await start();
    target.faults.stall(true);
    await sleep(60);
    const during = ctx.points.length;
    await sleep(150);
    assert.equal(ctx.points.length, during, 'nothing arrives during the stall');
    target.faults.stall(false);
    await ctx.waitFor(() => ctx.points.length > during, 2000, 'data after the stall');
    target.faults.stall(100);
    assert.equal(target.faults.stalled, true);
    await sleep(130);
    assert.equal(target.faults.stalled, false);
  });

  it('slowDown stretches the sample interval', async () => {
    await start({}, 20);
    await sleep(200);
    const normal = ctx.points.length;
    target.faults.slowDown(10);
    await sleep(20); // let the pending tick fire
    const before = ctx.points.length;
    await sleep(200);
    const slowed = ctx.points.length - before;
    assert.ok(normal >= 5, `normal rate ${normal}`);
    assert.ok(slowed <= 1, `slowed rate ${slowed}`);
  });
});

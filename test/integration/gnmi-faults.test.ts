import assert from 'node:assert/strict';
import { gnmiProtocol } from '../../protocols/gnmi/index';
import { SessionError } from '../../core/session';
import { SimDevice } from '../../simulator/model';
import { GnmiFaults } from '../../simulator/gnmi/faults';
import { startGnmiTarget, type GnmiTarget } from '../../simulator/gnmi/target';
import { gnmiProfile, localGnmiDevice, recordingContext, type RecordingContext } from '../../simulator/gnmi/harness';
import { outcomeWithin } from '../../testkit/until';

const IN_OCTETS = '/interfaces/interface[name=Ethernet1]/state/counters/in-octets';
const profile = (sampleIntervalMs = 20) =>
  gnmiProfile({ subscriptions: [{ path: IN_OCTETS, mode: 'sample', sampleIntervalMs, heartbeatIntervalMs: 0, suppressRedundant: false }] });

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
    const err = await outcomeWithin(run, 5000);
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
    const stalledAt = Date.now();
    // Five sample ticks withheld (a fact the target counts), not a guessed sleep.
    await ctx.waitFor(() => target.faults.withheldTicks >= 5, 3000, 'five withheld ticks');
    const resumedAt = Date.now();
    target.faults.stall(false);
    await ctx.waitFor(() => ctx.points.some((p) => p.timestamp >= resumedAt), 2000, 'data after the stall');
    // Nothing was stamped inside the stall (a point sent just before it may still have been on its way).
    const during = ctx.points.filter((p) => p.timestamp > stalledAt + 1 && p.timestamp < resumedAt - 1);
    assert.deepEqual(during, [], 'nothing sent during the stall');
  });

  it('a timed stall ends by itself', () => {
    let now = 1_000;
    const faults = new GnmiFaults(() => now);
    faults.stall(100);
    assert.equal(faults.stalled, true);
    now += 99;
    assert.equal(faults.stalled, true);
    now += 1;
    assert.equal(faults.stalled, false);
  });

  it('slowDown stretches the sample interval', async () => {
    await start({}, 20);
    await ctx.waitFor(() => ctx.points.length >= 6, 3000, 'six points at the normal rate');
    const normal = spacings(ctx.points.slice(0, 6).map((p) => p.timestamp));
    assert.ok(Math.min(...normal) < 100, `normal spacing ${normal.join(', ')} ms`);
    target.faults.slowDown(10);
    const from = ctx.points.length;
    // The first point after the change may still be a tick scheduled at the old rate; later ones come every 200 ms.
    await ctx.waitFor(() => ctx.points.length >= from + 4, 5000, 'four points at the slowed rate');
    const slowed = spacings(ctx.points.slice(from + 1, from + 4).map((p) => p.timestamp));
    assert.ok(Math.min(...slowed) >= 190, `slowed spacing ${slowed.join(', ')} ms`);
  });
});

/** Differences between consecutive times (ms). */
function spacings(times: number[]): number[] {
  return times.slice(1).map((t, i) => t - times[i]);
}

/** The device page's freshness rules: stale thresholds, the ongoing outage, what unparks a parked session. */
import assert from 'node:assert/strict';
import { isStale, outageLine, parkedAdvice, sessionOutage, staleAfterMs, type SessionFacts } from '../../web/app/lib/freshness';

const NOW = Date.parse('2026-11-28T07:10:00Z');
const status = (over: Partial<SessionFacts>): SessionFacts => ({ state: 'streaming', since: NOW - 600_000, attempt: 1, paused: false, ...over });

describe('web: freshness of device page values', () => {
  it('a value is stale after three of its sample intervals, never sooner than 30 s; unknown intervals after 60 s', () => {
    assert.equal(staleAfterMs(10_000), 30_000);
    assert.equal(staleAfterMs(60_000), 180_000);
    assert.equal(staleAfterMs(250), 30_000);
    assert.equal(staleAfterMs(undefined), 60_000);
    assert.equal(isStale(NOW - 29_000, NOW, 10_000), false);
    assert.equal(isStale(NOW - 31_000, NOW, 10_000), true);
    assert.equal(isStale(undefined, NOW), true, 'no time at all is not current');
  });

  it('outage while retrying: last point, error and the next retry from the backoff detail', () => {
    const o = sessionOutage({
      enabled: true,
      status: status({ state: 'backoff', since: NOW - 8000, lastError: 'UNAVAILABLE: connect ECONNREFUSED 127.0.0.1:9', detail: 'UNAVAILABLE: connect ECONNREFUSED 127.0.0.1:9; retry 33 in 30.0 s' }),
      lastPointAt: Date.parse('2026-11-28T06:40:00Z'),
      now: NOW,
    });
    assert.deepEqual(o, { kind: 'retrying', since: Date.parse('2026-11-28T06:40:00Z'), failingSince: undefined, reason: 'UNAVAILABLE: connect ECONNREFUSED 127.0.0.1:9', retry: 33, retryAt: NOW + 22_000 });
    assert.equal(outageLine(o!, NOW), 'No data since 06:40 UTC — UNAVAILABLE: connect ECONNREFUSED 127.0.0.1:9 · retry 33 in 22 s');
  });

  it('outage: the workflow’s nextRetryAt and failingSince win over the detail when it reports them', () => {
    const o = sessionOutage({
      enabled: true,
      status: status({ state: 'backoff', since: NOW - 1000, lastError: 'x', detail: 'x; retry 2 in 3.0 s', nextRetryAt: new Date(NOW + 5000).toISOString(), failingSince: new Date(NOW - 60_000).toISOString() }),
      now: NOW,
    });
    assert.equal(o?.retryAt, NOW + 5000);
    assert.equal(o?.failingSince, NOW - 60_000);
    assert.equal(outageLine(o!, NOW), 'No data yet — x · retry 2 in 5 s');
    assert.equal(outageLine({ kind: 'retrying', reason: 'UNAVAILABLE: No connection established. Resolution note: ' }, NOW), 'No data yet — UNAVAILABLE: No connection established. · retrying', 'gRPC’s empty resolution note dropped');
  });

  it('streaming with fresh points is no outage; streaming with old points is a silent one', () => {
    assert.equal(sessionOutage({ enabled: true, status: status({}), lastPointAt: NOW - 5000, intervalMs: 10_000, now: NOW }), undefined);
    assert.equal(sessionOutage({ enabled: true, status: status({}), lastPointAt: NOW - 3_600_000, intervalMs: 10_000, now: NOW })?.kind, 'silent');
  });

  it('parked, paused, disabled and unknown sessions are outages whatever the last point', () => {
    assert.equal(sessionOutage({ enabled: true, status: status({ state: 'auth-failed', lastError: 'AUTH_FAILED: no' }), lastPointAt: NOW, now: NOW })?.reason, 'AUTH_FAILED: no');
    assert.equal(sessionOutage({ enabled: true, status: status({ state: 'paused', paused: true, detail: 'pause from the web app' }), lastPointAt: NOW, now: NOW })?.kind, 'paused');
    assert.equal(sessionOutage({ enabled: false, status: status({}), lastPointAt: NOW, now: NOW })?.kind, 'disabled');
    assert.equal(sessionOutage({ enabled: true, status: null, lastPointAt: NOW - 3_600_000, now: NOW })?.kind, 'unknown');
    assert.equal(sessionOutage({ enabled: true, status: null, lastPointAt: NOW - 1000, now: NOW }), undefined, 'fresh data with Temporal silent: no outage claimed');
  });

  const advice: Array<[string, string, string, RegExp, boolean]> = [
    ['wrong password', 'auth-failed', 'AUTH_FAILED: the device rejected the credentials of user admin', /Edit → Credentials.*Retry now/, false],
    ['passphrase', 'auth-failed', 'AUTH_FAILED: the private key is encrypted (no passphrase is stored)', /passphrase/, false],
    ['host key changed', 'config-invalid', 'HOST_KEY_MISMATCH: expected SHA256:a, got SHA256:b', /Forget pinned key/, false],
    ['device lacks a method', 'config-invalid', 'CONFIG_INVALID: profile p: method yang-push-periodic needs RFC 8639 subscriptions, which the device does not advertise', /does not offer.*Attach a profile the device supports/, true],
    ['bad profile', 'config-invalid', "CONFIG_INVALID: profile x: subscriptions.0.path: invalid", /Fix the profile/, false],
  ];
  for (const [what, state, error, action, limitation] of advice) {
    it(`parked advice: ${what}`, () => {
      const a = parkedAdvice(state, error, 'netconf');
      assert.match(a.action, action);
      assert.equal(a.deviceLimitation, limitation);
    });
  }
});

/**
 * Webhook bodies and signatures of alert notifications (core/alert-notification.ts, docs/alerting.md):
 * the generic body carries the idempotency key and the facts; the Slack-compatible one a text
 * line plus the same key and the generic body; the signature is HMAC-SHA256 over
 * "<timestamp>.<body>", checked against an independent computation.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { notificationBody, signBody } from '../../core/alert-notification';
import type { AlertNotification } from '../../core/alert-notification';

const n: AlertNotification = {
  contactPointId: 1,
  rule: { id: 12, name: 'cpu hot', severity: 'critical' },
  transition: {
    ruleId: 12,
    key: 'leaf-1',
    labels: { device: 'leaf-1', alertname: 'cpu hot' },
    to: 'resolved',
    at: Date.UTC(2026, 10, 28, 11, 0, 3),
    value: 12.3456789,
    episode: Date.UTC(2026, 10, 28, 11, 0, 1),
    idempotencyKey: 'alert-12-1764327601000-resolved-leaf-1',
    reason: 'no longer reported',
  },
};

describe('alert notifications', () => {
  it('generic body: key, status, rule, instance, labels, value, times, reason', () => {
    assert.deepEqual(notificationBody(n, 'generic'), {
      version: 1,
      idempotencyKey: 'alert-12-1764327601000-resolved-leaf-1',
      status: 'resolved',
      rule: { id: 12, name: 'cpu hot', severity: 'critical' },
      instance: 'leaf-1',
      labels: { device: 'leaf-1', alertname: 'cpu hot' },
      value: 12.3456789,
      at: '2026-11-28T11:00:03.000Z',
      episodeStartedAt: '2026-11-28T11:00:01.000Z',
      reason: 'no longer reported',
    });
  });

  it('Slack-compatible body: one text line, the key, the generic body beside', () => {
    const body = notificationBody({ ...n, transition: { ...n.transition, to: 'firing', reason: undefined } }, 'slack');
    assert.equal(body.text, ':rotating_light: [FIRING] cpu hot — leaf-1 (value 12.3457), critical');
    assert.equal(body.idempotency_key, n.transition.idempotencyKey);
    assert.equal((body.alert as { status: string }).status, 'firing');
  });

  it('signature: sha256= HMAC-SHA256 of "<timestamp>.<body>" with the secret', () => {
    const body = JSON.stringify(notificationBody(n, 'generic'));
    const expected = crypto.createHmac('sha256', 's3cret').update(`1764327603.${body}`).digest('hex');
    assert.equal(signBody('s3cret', '1764327603', body), `sha256=${expected}`);
    assert.notEqual(signBody('other', '1764327603', body), `sha256=${expected}`);
  });
});

/**
 * What an alert notification says (docs/alerting.md): the webhook body, generic or
 * Slack-compatible, and its signature. No I/O: the delivery activity sends it.
 */
import crypto from 'node:crypto';
import type { AlertTransition } from './alert-machine';

/** One notification to deliver (no secrets: the activity loads the contact point's). */
export interface AlertNotification {
  transition: AlertTransition;
  rule: { id: number; name: string; severity: string };
  contactPointId: number;
}

/** The JSON body of a notification (docs/alerting.md): generic, or Slack-compatible. */
export function notificationBody(n: AlertNotification, format: 'generic' | 'slack', webUrl?: string): Record<string, unknown> {
  const t: AlertTransition = n.transition;
  const generic = {
    version: 1,
    idempotencyKey: t.idempotencyKey,
    status: t.to,
    rule: n.rule,
    instance: t.key,
    labels: t.labels,
    value: t.value,
    at: new Date(t.at).toISOString(),
    episodeStartedAt: new Date(t.episode).toISOString(),
    ...(t.reason ? { reason: t.reason } : {}),
    ...(webUrl ? { url: `${webUrl.replace(/\/$/, '')}/alerts` } : {}),
  };
  if (format === 'generic') return generic;
  const icon = t.to === 'firing' ? ':rotating_light:' : ':white_check_mark:';
  const value = t.value === null ? '' : ` (value ${Number(t.value.toPrecision(6))})`;
  return {
    text: `${icon} [${t.to.toUpperCase()}] ${n.rule.name} — ${t.key}${value}, ${n.rule.severity}${t.reason ? `: ${t.reason}` : ''}`,
    idempotency_key: t.idempotencyKey,
    alert: generic,
  };
}

/** `sha256=<hex>` of HMAC-SHA256 over `<timestamp>.<body>` (X-Alert-Signature). */
export function signBody(secret: string, timestamp: string, body: string): string {
  return `sha256=${crypto.createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

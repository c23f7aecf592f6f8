/**
 * The one formatter of times the server prints (issue 21, ADR 125): in the page's zone
 * (the tz cookie), naming it; the date only when it is not today in that zone.
 */
import assert from 'node:assert/strict';
import { formatStamp, formatTime, zoneLabel } from '../../web/app/lib/time-format';
import { outageLine } from '../../web/app/lib/freshness';

const NOW = Date.parse('2026-11-28T07:10:00Z');

describe('web: printed times in the page zone', () => {
  it('UTC: HH:MM today, with the month and day otherwise, always naming UTC', () => {
    assert.equal(formatTime(Date.parse('2026-11-28T06:40:09Z'), 'UTC', NOW), '06:40 UTC');
    assert.equal(formatTime(Date.parse('2026-11-27T23:05:00Z'), 'UTC', NOW), 'Nov 27 23:05 UTC');
    assert.equal(formatTime(Date.parse('2026-11-28T06:40:09Z'), 'UTC', NOW, { seconds: true }), '06:40:09 UTC');
    assert.equal(formatTime(Date.parse('2026-11-28T06:40:09Z'), 'UTC', NOW, { bare: true }), '06:40');
  });

  it('another zone: its wall clock and its name; "today" is the zone’s day', () => {
    // 23:05 UTC on the 27th is 04:35 on the 28th in Kolkata (+05:30): today there.
    assert.equal(formatTime(Date.parse('2026-11-27T23:05:00Z'), 'Asia/Kolkata', NOW), '04:35 GMT+5:30');
    assert.equal(formatTime(Date.parse('2026-11-28T06:40:09Z'), 'Asia/Kolkata', NOW), '12:10 GMT+5:30');
    // 02:00 UTC on the 28th is still the 27th in New York (EST, −05:00).
    assert.equal(formatTime(Date.parse('2026-11-28T02:00:00Z'), 'America/New_York', NOW), 'Nov 27 21:00 EST');
  });

  it('full stamps carry the date and seconds; summer time is named as such', () => {
    assert.equal(formatStamp(NOW, 'UTC'), '2026-11-28 07:10:00 UTC');
    assert.equal(formatStamp(NOW, 'America/New_York'), '2026-11-28 02:10:00 EST');
    assert.equal(formatStamp(Date.parse('2026-07-01T12:00:00Z'), 'America/New_York'), '2026-07-01 08:00:00 EDT');
    assert.equal(formatStamp(Date.parse('2026-07-01T12:00:00Z'), 'Europe/Berlin'), '2026-07-01 14:00:00 GMT+2');
    assert.equal(zoneLabel('Etc/UTC', NOW), 'UTC');
  });

  it('the outage line prints its time in the page zone', () => {
    const o = { kind: 'silent' as const, since: Date.parse('2026-11-28T06:40:00Z') };
    assert.match(outageLine(o, NOW), /^No data since 06:40 UTC/);
    assert.match(outageLine(o, NOW, 'Asia/Kolkata'), /^No data since 12:10 GMT\+5:30/);
  });
});

/**
 * The simulator's HTTP control API against cross-site requests (issue 14,
 * item 8): a web page on another site must not inject faults through the
 * operator's browser — Origin and Sec-Fetch-Site of another site are refused,
 * and a POST must be application/json (a cross-site form cannot send that
 * without a preflight this server never grants).
 */
import assert from 'node:assert/strict';
import { startFleet, type Fleet } from '../../simulator/fleet';

describe('hostile requests to the simulator control API', function () {
  this.timeout(30_000);
  let fleet: Fleet;
  let base: string;

  before(async () => {
    fleet = await startFleet({ gnmiCount: 1, controlPort: 0, namePrefix: 'ctl' });
    base = `http://127.0.0.1:${fleet.controlPort}`;
  });

  after(async () => {
    await fleet?.close();
  });

  const post = (headers: Record<string, string>, body = '{"args":[]}') => fetch(`${base}/devices/ctl-gnmi-1/faults/dropStreams`, { method: 'POST', headers, body });

  it('refuses another Origin, Sec-Fetch-Site cross-site, and bodies that are not JSON; accepts its own JSON posts', async () => {
    const cases: Array<[string, Record<string, string>, number]> = [
      ['Origin of another site', { 'content-type': 'application/json', origin: 'http://evil.example' }, 403],
      ['Origin null (sandboxed page)', { 'content-type': 'application/json', origin: 'null' }, 403],
      ['Sec-Fetch-Site: cross-site', { 'content-type': 'application/json', 'sec-fetch-site': 'cross-site' }, 403],
      ['a form post (text/plain, as a cross-site <form> sends)', { 'content-type': 'text/plain' }, 415],
      ['a form post (urlencoded)', { 'content-type': 'application/x-www-form-urlencoded' }, 415],
    ];
    for (const [what, headers, status] of cases) {
      const res = await post(headers);
      const body = (await res.json()) as { error?: string };
      assert.equal(res.status, status, `${what}: ${JSON.stringify(body)}`);
      assert.match(body.error ?? '', /cross-site|application\/json/, what);
    }
    const cross = await fetch(`${base}/devices`, { headers: { origin: 'http://evil.example' } });
    assert.equal(cross.status, 403, 'reads from another site are refused too');
    await cross.body?.cancel();
    const ok = await post({ 'content-type': 'application/json' });
    assert.equal(ok.status, 200, await ok.text());
    const same = await post({ 'content-type': 'application/json; charset=utf-8', origin: base, 'sec-fetch-site': 'same-origin' });
    assert.equal(same.status, 200, 'a page served by the control port itself');
    await same.body?.cancel();
  });
});

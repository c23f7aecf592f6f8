/** The devices view's URL filter, sort and page (core/device-filter.ts) and the CSV export's round trip through the import. */
import assert from 'node:assert/strict';
import { describeFilter, filterFromParams, filterToParams, viewFromParams } from '../../core/device-filter';
import { candidatesFromCsv, devicesToCsv, EXPORT_COLUMNS } from '../../web/app/lib/device-import';

const FP = `SHA256:${'A'.repeat(43)}`;

describe('devices view: filter in the URL, CSV export', () => {
  it('reads a filter from URL parameters, dropping blank and invalid values', () => {
    const f = filterFromParams(new URLSearchParams('q=+lab-sw-1+&site=site-7&protocol=snmp&state=streaming&profile=abc&enabled=yes&extra=1'));
    assert.deepEqual(f, { q: 'lab-sw-1', site: 'site-7', state: 'streaming', enabled: 'yes' });
    assert.deepEqual(filterFromParams(new URLSearchParams('q=&site=&state=not+started&profile=3')), { state: 'not started', profile: 3 });
    // Devices with a firing alert instance (issue 18); any other value is dropped.
    assert.deepEqual(filterFromParams(new URLSearchParams('alerts=firing&site=a')), { site: 'a', alerts: 'firing' });
    assert.deepEqual(filterFromParams(new URLSearchParams('alerts=pending')), {});
    assert.equal(filterToParams({ alerts: 'firing' }).toString(), 'alerts=firing');
    assert.equal(describeFilter({ alerts: 'firing' }), 'alerts=firing');
  });

  it('reads sort and page with defaults for anything invalid; page sizes only from the list', () => {
    assert.deepEqual(viewFromParams(new URLSearchParams('')), { sort: 'name', dir: 'asc', page: 1, size: 50 });
    assert.deepEqual(viewFromParams(new URLSearchParams('sort=site&dir=desc&page=3&size=200')), { sort: 'site', dir: 'desc', page: 3, size: 200 });
    assert.deepEqual(viewFromParams(new URLSearchParams('sort=password&dir=up&page=-1&size=100000')), { sort: 'name', dir: 'asc', page: 1, size: 50 });
    // The traffic columns (ADR 135) sort like the others and round-trip through the URL.
    assert.deepEqual(viewFromParams(new URLSearchParams('sort=points&dir=desc')), { sort: 'points', dir: 'desc', page: 1, size: 50 });
    assert.equal(filterToParams({}, viewFromParams(new URLSearchParams('sort=seen&page=2'))).toString(), 'sort=seen&page=2');
  });

  it('writes the URL back without defaults, and describes a filter', () => {
    const f = { site: 'lab a', state: 'backoff' as const };
    assert.equal(filterToParams(f, { sort: 'name', dir: 'asc', page: 1, size: 50 }).toString(), 'site=lab+a&state=backoff');
    assert.equal(filterToParams(f, { sort: 'state', dir: 'desc', page: 2, size: 25 }).toString(), 'site=lab+a&state=backoff&sort=state&dir=desc&size=25&page=2');
    assert.deepEqual(filterFromParams(filterToParams(f)), f);
    assert.equal(describeFilter(f), 'site=lab a state=backoff');
    assert.equal(describeFilter({}), 'every device');
  });

  it('exports CSV the import reads back, quoting where needed, with no password column', () => {
    assert.ok(!(EXPORT_COLUMNS as readonly string[]).includes('password'));
    const csv = devicesToCsv([
      { name: 'sw-1', protocol: 'gnmi', host: '10.0.0.1', port: 57400, username: 'ops', tls: 'tls', site: 'hall "A", row 2', profiles: 'a;b', enabled: true },
      { name: 'nc-1', protocol: 'netconf', host: '10.0.0.2', port: 830, site: null, profiles: '', enabled: false, host_key_sha256: FP },
    ]);
    assert.match(csv, /^name,protocol,host,port,username,tls,site,profiles,enabled,host_key_sha256,allow_plaintext_credentials,allow_unverified_credentials\r\n/);
    const back = candidatesFromCsv(csv);
    assert.deepEqual(
      back.map((c) => [c.name, c.form?.site ?? null, c.form?.enabled, c.profileNames, c.form?.netconf.hostKeySha256 ?? null]),
      [
        ['sw-1', 'hall "A", row 2', true, ['a', 'b'], null],
        ['nc-1', null, false, [], FP],
      ],
    );
    assert.ok(back.every((c) => Object.keys(c.errors).length === 0));
  });
});

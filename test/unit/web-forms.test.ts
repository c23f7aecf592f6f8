/** Form parsing of the web app: device, profile and widget schemas, durations, passwords. */
import assert from 'node:assert/strict';
import { DeviceForm, SECRET_FIELDS, deviceFormInput } from '../../web/app/lib/device-form';
import { fieldErrors, parseDuration, formatDuration, submittedValues } from '../../web/app/lib/forms';
import { parseProfileForm, parseSubscriptionLines, formatSubscriptionLines } from '../../web/app/lib/profile-form';
import { WidgetForm, widgetFormInput } from '../../web/app/lib/widget-form';
import { hashPassword, verifyPassword } from '../../core/password';

const fd = (entries: Record<string, string | string[]>) => {
  const f = new FormData();
  for (const [k, v] of Object.entries(entries)) for (const one of Array.isArray(v) ? v : [v]) f.append(k, one);
  return f;
};

describe('web: forms', () => {
  it('every bad subscription line gets its own error; NETCONF filters are checked as XML or XPath 1.0; only the chosen method\'s fields are read', () => {
    const lines = parseSubscriptionLines('/ok sample 1s\nno-slash\n/b fast\n/c sample 2s\n/d warp');
    assert.equal(lines.lineErrors.length, 3);
    assert.match(lines.lineErrors[0], /^Line 2: /);
    assert.match(lines.lineErrors[1], /^Line 3: "fast"/);
    assert.match(lines.lineErrors[2], /^Line 5: "warp"/);
    assert.deepEqual(lines.subscriptions.map((s) => s.path), ['/ok', '/c']);
    const g = parseProfileForm(fd({ name: 'p', protocol: 'gnmi', 'gnmi.mode': 'stream', 'gnmi.subscriptions': '/a nope\n/b nada' }));
    assert.ok(!g.ok && g.errors['gnmi.subscriptions'].split('\n').length === 2);

    const nc = (filterType: string, filter: string, extra: Record<string, string> = {}) =>
      parseProfileForm(fd({ name: 'n', protocol: 'netconf', 'netconf.method': 'get', 'netconf.filterType': filterType, 'netconf.filter': filter, 'netconf.period': '5s', ...extra }));
    assert.ok(nc('subtree', '<interfaces xmlns="urn:ietf:params:xml:ns:yang:ietf-interfaces"/>').ok);
    const unclosed = nc('subtree', '<interfaces><interface>');
    assert.ok(!unclosed.ok && /^The subtree filter is not well-formed XML/.test(unclosed.errors['netconf.filter']));
    const doctype = nc('subtree', '<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>');
    assert.ok(!doctype.ok && /document type declarations are not accepted/.test(doctype.errors['netconf.filter']));
    assert.ok(nc('xpath', "/if:interfaces/if:interface[if:name='eth0']").ok);
    const xp = nc('xpath', '/interfaces/interface[name="eth0"');
    assert.ok(!xp.ok && /^Not an XPath 1.0 expression: expected '\]'/.test(xp.errors['netconf.filter']));
    // A period typed for a method that has none is not read (the form does not show it).
    const push = nc('subtree', '<a/>', { 'netconf.method': 'yang-push-on-change', 'netconf.period': 'garbage', 'netconf.dampening': '1s' });
    assert.ok(push.ok && push.spec && 'dampeningMs' in push.spec && push.spec.dampeningMs === 1000);
    const once = parseProfileForm(fd({ name: 'p', protocol: 'gnmi', 'gnmi.mode': 'stream', 'gnmi.pollInterval': 'garbage', 'gnmi.subscriptions': '/a sample 1s' }));
    assert.ok(once.ok, 'the poll interval is read only in POLL mode');
  });

  it('the device form reads only its protocol\'s settings: a stray value of the other protocol cannot fail it', () => {
    const nc = DeviceForm.safeParse(deviceFormInput(fd({ name: 'nc', protocol: 'netconf', host: 'x', port: '830', 'gnmi.tls': 'nope', 'gnmi.maxMessageBytes': 'abc' })));
    assert.ok(nc.success, JSON.stringify(nc.error?.issues));
    assert.equal(nc.data.gnmi.tls, 'tls', 'the other protocol keeps its defaults');
    const g = DeviceForm.safeParse(deviceFormInput(fd({ name: 'g', protocol: 'gnmi', host: 'x', port: '57400', 'netconf.hostKeySha256': 'md5:abc' })));
    assert.ok(g.success, JSON.stringify(g.error?.issues));
  });

  it('a valid gNMI device form parses with the collectors’ own settings schema (defaults filled)', () => {
    const r = DeviceForm.safeParse(
      deviceFormInput(fd({ name: 'leaf-1', protocol: 'gnmi', host: '10.0.0.1', port: '57400', enabled: 'on', 'gnmi.tls': 'skip-verify', 'secrets.password': 's3cret', profileIds: ['3', '4'] })),
    );
    assert.ok(r.success, JSON.stringify(!r.success && r.error.issues));
    assert.equal(r.data.port, 57400);
    assert.equal(r.data.gnmi.tls, 'skip-verify');
    assert.equal(r.data.gnmi.maxMessageBytes, 4 * 1024 * 1024);
    assert.deepEqual(r.data.profileIds, [3, 4]);
    assert.equal(r.data.secrets.password, 's3cret');
    assert.equal(r.data.enabled, true);
  });

  it('field errors name the inputs: name, host, port, TLS mode, mTLS certificate, host key', () => {
    const bad = DeviceForm.safeParse(deviceFormInput(fd({ name: 'bad name!', protocol: 'gnmi', host: 'not a host', port: '99999', 'gnmi.tls': 'nope' })));
    assert.ok(!bad.success);
    const e = fieldErrors(bad.error);
    assert.deepEqual(Object.keys(e).sort(), ['gnmi.tls', 'host', 'name', 'port']);
    const mtls = DeviceForm.safeParse(deviceFormInput(fd({ name: 'x', protocol: 'gnmi', host: 'x', port: '1', 'gnmi.tls': 'mtls' })));
    assert.ok(!mtls.success);
    assert.equal(fieldErrors(mtls.error)['gnmi.clientCert'], 'mTLS needs a client certificate');
    const key = DeviceForm.safeParse(deviceFormInput(fd({ name: 'x', protocol: 'netconf', host: 'x', port: '830', 'netconf.hostKeySha256': 'md5:abc' })));
    assert.ok(!key.success);
    assert.match(fieldErrors(key.error)['netconf.hostKeySha256'], /SHA256/);
    const port = DeviceForm.safeParse(deviceFormInput(fd({ name: 'x', protocol: 'gnmi', host: 'x', port: 'abc' })));
    assert.ok(!port.success);
    assert.ok(fieldErrors(port.error).port);
  });

  it('NETCONF private key passphrase: taken exactly as typed, blank keeps the stored one, never echoed back', () => {
    const base = { name: 'spine-1', protocol: 'netconf', host: '10.0.0.2', port: '830', 'netconf.acceptNewHostKey': 'on', username: 'robot' };
    const key = '-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----';
    const form = fd({ ...base, 'secrets.privateKey': key, 'secrets.passphrase': ' two words ' });
    const r = DeviceForm.safeParse(deviceFormInput(form));
    assert.ok(r.success, JSON.stringify(!r.success && r.error.issues));
    assert.equal(r.data.secrets.passphrase, ' two words ', 'spaces are part of a passphrase');
    assert.match(r.data.secrets.privateKey ?? '', /^-----BEGIN OPENSSH PRIVATE KEY-----/);
    const blank = DeviceForm.safeParse(deviceFormInput(fd({ ...base, 'secrets.passphrase': '' })));
    assert.ok(blank.success);
    assert.equal(blank.data.secrets.passphrase, undefined, 'blank means keep what is stored');
    assert.ok(SECRET_FIELDS.includes('secrets.passphrase'));
    const echoed = submittedValues(form, SECRET_FIELDS);
    assert.equal(echoed['secrets.passphrase'], undefined);
    assert.equal(echoed.username, 'robot');
    const long = DeviceForm.safeParse(deviceFormInput(fd({ ...base, 'secrets.passphrase': 'x'.repeat(1025) })));
    assert.ok(!long.success);
    assert.deepEqual(Object.keys(fieldErrors(long.error)), ['secrets.passphrase']);
  });

  it('subscription lines: path, mode and interval; bad lines are named', () => {
    const ok = parseSubscriptionLines('/interfaces/interface/state/counters sample 1s\n# comment\n\n/system/state on_change');
    assert.equal(ok.error, undefined);
    assert.deepEqual(ok.subscriptions, [
      { path: '/interfaces/interface/state/counters', mode: 'sample', sampleIntervalMs: 1000 },
      { path: '/system/state', mode: 'on_change' },
    ]);
    assert.match(parseSubscriptionLines('/a sample\n/b fast')?.error ?? '', /Line 2: "fast"/);
    assert.match(parseSubscriptionLines('no-slash')?.error ?? '', /Line 1/);
    assert.equal(
      formatSubscriptionLines([{ path: '/a', mode: 'sample', sampleIntervalMs: 10_000, heartbeatIntervalMs: 0, suppressRedundant: false }]),
      '/a sample 10s',
    );
  });

  it('profile forms validate with GnmiProfileSpec / NetconfProfileSpec', () => {
    const g = parseProfileForm(fd({ name: 'p1', protocol: 'gnmi', 'gnmi.mode': 'stream', 'gnmi.subscriptions': '/a sample 1s' }));
    assert.ok(g.ok);
    const empty = parseProfileForm(fd({ name: 'p1', protocol: 'gnmi', 'gnmi.mode': 'stream', 'gnmi.subscriptions': '' }));
    assert.ok(!empty.ok && empty.errors['gnmi.subscriptions']);
    const n = parseProfileForm(fd({ name: 'n1', protocol: 'netconf', 'netconf.method': 'get', 'netconf.period': 'often' }));
    assert.ok(!n.ok);
    assert.equal(n.errors['netconf.filter'], 'Required');
    assert.match(n.errors['netconf.period'], /duration/);
    // NMDA: <get-data> and the ietf-interfaces tree chosen from the hello.
    const nmda = parseProfileForm(fd({ name: 'n2', protocol: 'netconf', 'netconf.method': 'get-data', 'netconf.filter': '<interfaces-state xmlns="urn:ietf:params:xml:ns:yang:ietf-interfaces"/>', 'netconf.select': 'interfaces-auto', 'netconf.period': '5s' }));
    assert.ok(nmda.ok && 'method' in nmda.spec && nmda.spec.method === 'get-data' && nmda.spec.select === 'interfaces-auto');
    const badTree = parseProfileForm(fd({ name: 'n3', protocol: 'netconf', 'netconf.method': 'get', 'netconf.filter': '<a/>', 'netconf.select': 'guess' }));
    assert.ok(!badTree.ok && badTree.errors['netconf.select']);
  });

  it('widget form: pattern grammar checked, "all devices" is null', () => {
    const ok = WidgetForm.safeParse(widgetFormInput(fd({ title: 'T', deviceId: 'all', path: '/interfaces/interface[name=*]/state/counters/in-octets', aggregate: 'sum', groupBy: 'device', rate: 'on', chart: 'stacked-area', unit: 'bits/s', width: '12' })));
    assert.ok(ok.success);
    assert.equal(ok.data.deviceId, null);
    assert.equal(ok.data.rate, true);
    const bad = WidgetForm.safeParse(widgetFormInput(fd({ title: '', deviceId: '3', path: 'interfaces[', chart: 'pie', unit: 'furlongs', width: '5' })));
    assert.ok(!bad.success);
    assert.deepEqual(Object.keys(fieldErrors(bad.error)).sort(), ['chart', 'path', 'title', 'unit', 'width']);
  });

  it('durations', () => {
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('10s'), 10_000);
    assert.equal(parseDuration('2m'), 120_000);
    assert.equal(parseDuration('soon'), undefined);
    assert.equal(formatDuration(3_600_000), '1h');
    assert.equal(formatDuration(1500), '1500ms');
  });

  it('passwords: scrypt hashes verify, differ per salt, reject the wrong password', async () => {
    const a = await hashPassword('correct horse battery');
    const b = await hashPassword('correct horse battery');
    assert.notEqual(a, b);
    assert.match(a, /^scrypt\$131072\$8\$1\$/); // N = 2^17, r = 8, p = 1 (OWASP; ADR 051)
    assert.equal(await verifyPassword('correct horse battery', a), true);
    assert.equal(await verifyPassword('wrong', a), false);
    assert.equal(await verifyPassword('x', 'garbage'), false);
  });
});

/** Device import parsing: CSV (RFC 4180 quoting) and gnmic targets files, validated like the device form. */
import assert from 'node:assert/strict';
import { ImportError, candidatesFrom, candidatesFromCsv, candidatesFromGnmicYaml, parseCsv, splitAddress } from '../../web/app/lib/device-import';

describe('device import: CSV', () => {
  const table: Array<{ name: string; text: string; rows: string[][] }> = [
    { name: 'plain', text: 'a,b\n1,2\n', rows: [['a', 'b'], ['1', '2']] },
    { name: 'CRLF and no final newline', text: 'a,b\r\n1,2', rows: [['a', 'b'], ['1', '2']] },
    { name: 'quoted comma, quote and newline', text: 'a,b\n"x,y","say ""hi""\nthere"\n', rows: [['a', 'b'], ['x,y', 'say "hi"\nthere']] },
    { name: 'empty fields and blank lines', text: 'a,b,c\n\n1,,3\n', rows: [['a', 'b', 'c'], ['1', '', '3']] },
  ];
  for (const t of table) it(`splits fields: ${t.name}`, () => assert.deepEqual(parseCsv(t.text), t.rows));

  it('refuses an unterminated quote', () => assert.throws(() => parseCsv('a\n"open'), ImportError));

  it('turns rows into validated devices, with field errors for bad ones', () => {
    const c = candidatesFromCsv(
      [
        'name,protocol,host,port,username,password,tls,profiles,allow_plaintext_credentials',
        'leaf1,gnmi,10.0.0.1,57400,admin,s3cret,insecure,a;b,yes',
        'spine1,netconf,spine1.lab,,ops,pw,,,',
        'bad name!,gnmi,10.0.0.2,99999,,,,,',
      ].join('\n'),
    );
    assert.equal(c.length, 3);
    assert.equal(c[0].source, 'line 2');
    assert.equal(c[0].form?.gnmi.tls, 'insecure');
    assert.equal(c[0].form?.gnmi.allowPlaintextCredentials, true);
    assert.deepEqual(c[0].form?.secrets, { password: 's3cret' });
    assert.deepEqual(c[0].profileNames, ['a', 'b']);
    assert.equal(c[1].form?.protocol, 'netconf');
    assert.equal(c[1].form?.port, 830, 'a blank port is the protocol default');
    assert.equal(c[2].form, undefined);
    assert.ok(c[2].errors.name && c[2].errors.port, JSON.stringify(c[2].errors));
  });

  it('refuses unknown columns and a header without name/host, naming them', () => {
    assert.throws(() => candidatesFromCsv('name,host,colour\nx,h,red'), /unknown column\(s\) colour/);
    assert.throws(() => candidatesFromCsv('name,port\nx,1'), /needs at least "name" and "host"/);
  });
});

describe('device import: gnmic targets', () => {
  const yaml = `
username: admin
password: global-pw
skip-verify: true
encoding: json_ietf
targets:
  router1:
    address: 10.0.0.1:57400
  10.0.0.2:6030:
    insecure: true
    password: own-pw
    subscriptions: [openconfig-interfaces-and-health]
  "[2001:db8::1]:9339":
    tls-ca: /etc/ca.pem
`;
  it('reads names, addresses, defaults and lab modes', () => {
    const c = candidatesFromGnmicYaml(yaml);
    assert.deepEqual(
      c.map((x) => [x.name, x.form?.host, x.form?.port, x.form?.gnmi.tls]),
      [
        ['router1', '10.0.0.1', 57400, 'skip-verify'],
        ['10.0.0.2:6030', '10.0.0.2', 6030, 'insecure'],
        ['2001:db8::1-:9339', '2001:db8::1', 9339, 'skip-verify'],
      ],
    );
    assert.deepEqual(c[0].form?.secrets, { password: 'global-pw' });
    assert.equal(c[0].form?.gnmi.encoding, 'json_ietf');
    assert.deepEqual(c[1].form?.secrets, { password: 'own-pw' });
    assert.equal(c[1].form?.gnmi.allowPlaintextCredentials, true);
    assert.match(c[1].warnings.join(), /plaintext/);
    // skip-verify with a password: the credentials go to an unverified peer, said per row for the admin to confirm.
    assert.equal(c[0].form?.gnmi.allowUnverifiedCredentials, true);
    assert.deepEqual(c[0].labModes, ['skip-verify: TLS without verifying the device certificate', 'username and password sent to an unverified peer']);
    assert.deepEqual(c[1].labModes, ['insecure: plaintext transport', 'username and password sent in plaintext']);
    assert.deepEqual(c[1].profileNames, ['openconfig-interfaces-and-health']);
    assert.match(c[2].warnings.join(), /tls-ca .* not read/);
  });

  it('splits IPv4, IPv6 and bare addresses', () => {
    assert.deepEqual(splitAddress('h:1'), { host: 'h', port: '1' });
    assert.deepEqual(splitAddress('[::1]:2'), { host: '::1', port: '2' });
    assert.deepEqual(splitAddress('h'), { host: 'h', port: undefined });
  });

  it('refuses alias bombs, files without targets and non-YAML, importing nothing', () => {
    const laughs = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 0; i < 9; i++) laughs.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)}]`);
    laughs.push('targets: *j');
    const started = performance.now();
    assert.throws(() => candidatesFromGnmicYaml(laughs.join('\n')), ImportError);
    assert.ok(performance.now() - started < 1000);
    assert.throws(() => candidatesFromGnmicYaml('subscriptions: {}'), /no "targets" section/);
    assert.throws(() => candidatesFromGnmicYaml('targets: [unclosed'), /not valid YAML/);
  });

  it('detects the format and refuses oversized files', () => {
    assert.equal(candidatesFrom('targets:\n  r1:\n    address: h:1\n', 'auto')[0].name, 'r1');
    assert.equal(candidatesFrom('name,host\nx,h\n', 'auto')[0].name, 'x');
    assert.throws(() => candidatesFrom('name,host\n' + 'x'.repeat(1024 * 1024 + 1), 'csv'), /larger than 1024 KiB/);
  });
});

/** The XPath 1.0 syntax checker of NETCONF XPath filters (protocols/netconf/xpath-syntax.ts). */
import assert from 'node:assert/strict';
import { checkXPathSyntax } from '../../protocols/netconf/xpath-syntax';

describe('XPath 1.0 syntax check', () => {
  const good = [
    '/if:interfaces/if:interface',
    "/interfaces/interface[name='eth0']/statistics",
    '/interfaces-state/interface[name="Ethernet1" and type!="x"]/statistics/in-octets',
    '//interface',
    '/',
    '.',
    '../a',
    'child::a/descendant-or-self::node()/@name',
    '/a[1]/b[last()]',
    '/a[position() > 2 or count(b) = 0]',
    'count(/a) * 2 div 3 mod 4 - -1',
    '/a/* | /b/c:*',
    '$v/a',
    "concat('a', \"b\", 1.5)",
    '/a/text()',
    "/a/processing-instruction('x')",
    '(/a | /b)[1]/c',
    '/a[b/@c = 3.0][.//d]',
  ];
  for (const expr of good) it(`accepts ${expr}`, () => checkXPathSyntax(expr));

  const bad: Array<[string, RegExp]> = [
    ['', /empty expression/],
    ['/interfaces/interface[name="eth0"', /expected '\]'/],
    ["/a[name='x]", /unterminated string literal/],
    ['/a/', /end|name test/],
    ['/a//', /name test/],
    ['/a[]', /path, literal/],
    ['/a b', /an operator or the end, found 'b'/],
    ['/a and', /before the end/],
    ['/a/foo(', /function call, not a step/],
    ['bogus::a', /an axis name/],
    ['/a#b', /unexpected character '#'/],
    ['/a[1]]', /an operator or the end/],
    ['f(1,', /before the end/],
    ['/a/pre:', /local name/],
  ];
  for (const [expr, msg] of bad) {
    it(`refuses ${JSON.stringify(expr)}`, () => assert.throws(() => checkXPathSyntax(expr), msg));
  }

  it('gives the position of the error', () => {
    assert.throws(() => checkXPathSyntax('/a[b = ]'), /character 8/);
  });
});

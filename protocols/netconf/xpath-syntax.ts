/**
 * An XPath 1.0 syntax checker for NETCONF XPath filters (issue 21): tokenizes and
 * parses the whole expression grammar of XPath 1.0 (W3C REC §2–3: location paths,
 * axes, node tests, predicates, operators, literals, numbers, variables, function
 * calls) and reports the first error with its position. It evaluates nothing; the
 * device does. Pure, no dependencies.
 */

/** A syntax error at a 0-based character offset. */
export class XPathSyntaxError extends Error {
  constructor(message: string, readonly position: number) {
    super(`${message} at character ${position + 1}`);
    this.name = 'XPathSyntaxError';
  }
}

type Tok = { k: 'name' | 'num' | 'lit' | 'var' | 'op' | 'p' | 'end'; v: string; at: number };

const AXES = new Set([
  'ancestor', 'ancestor-or-self', 'attribute', 'child', 'descendant', 'descendant-or-self', 'following',
  'following-sibling', 'namespace', 'parent', 'preceding', 'preceding-sibling', 'self',
]);
const NODE_TYPES = new Set(['comment', 'text', 'processing-instruction', 'node']);
const NCNAME = /^[A-Za-z_\u00C0-\uFFFF][\w.\-\u00B7\u00C0-\uFFFF]*/;

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  // After these, `*` is multiplication and and/or/mod/div are operators (REC §3.7).
  const operandEnded = () => {
    const last = out[out.length - 1];
    if (!last) return false;
    if (last.k === 'op') return false;
    if (last.k === 'p') return last.v === ')' || last.v === ']' || last.v === '.' || last.v === '..' || last.v === '*';
    return true;
  };
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const at = i;
    const two = src.slice(i, i + 2);
    if (two === '//' || two === '::' || two === '..') {
      out.push({ k: 'p', v: two, at });
      i += 2;
    } else if (two === '!=' || two === '<=' || two === '>=') {
      out.push({ k: 'op', v: two, at });
      i += 2;
    } else if (c === '"' || c === "'") {
      const end = src.indexOf(c, i + 1);
      if (end < 0) throw new XPathSyntaxError('unterminated string literal', at);
      out.push({ k: 'lit', v: src.slice(i + 1, end), at });
      i = end + 1;
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(src[i + 1] ?? ''))) {
      const m = /^(\d+(\.\d*)?|\.\d+)/.exec(src.slice(i))!;
      out.push({ k: 'num', v: m[0], at });
      i += m[0].length;
    } else if (c === '$') {
      const m = /^\$([A-Za-z_][\w.-]*(:[A-Za-z_][\w.-]*)?)/.exec(src.slice(i));
      if (!m) throw new XPathSyntaxError('a variable name must follow $', at);
      out.push({ k: 'var', v: m[1], at });
      i += m[0].length;
    } else if (c === '*') {
      out.push(operandEnded() ? { k: 'op', v: '*', at } : { k: 'p', v: '*', at });
      i++;
    } else if ('=<>+-|'.includes(c)) {
      out.push({ k: 'op', v: c, at });
      i++;
    } else if ('/()[].@,'.includes(c)) {
      out.push({ k: 'p', v: c, at });
      i++;
    } else {
      const m = NCNAME.exec(src.slice(i));
      if (!m) throw new XPathSyntaxError(`unexpected character '${c}'`, at);
      let name = m[0];
      i += name.length;
      if (operandEnded() && (name === 'and' || name === 'or' || name === 'mod' || name === 'div')) {
        out.push({ k: 'op', v: name, at });
        continue;
      }
      // QName or prefix:* (but not an axis' ::).
      if (src[i] === ':' && src[i + 1] !== ':') {
        if (src[i + 1] === '*') {
          name += ':*';
          i += 2;
        } else {
          const local = NCNAME.exec(src.slice(i + 1));
          if (!local) throw new XPathSyntaxError(`a local name must follow '${name}:'`, i);
          name += `:${local[0]}`;
          i += 1 + local[0].length;
        }
      }
      out.push({ k: 'name', v: name, at });
    }
  }
  out.push({ k: 'end', v: '', at: src.length });
  return out;
}

class Parser {
  private i = 0;
  constructor(private readonly toks: Tok[]) {}
  private get t(): Tok {
    return this.toks[this.i];
  }
  private peek(n = 1): Tok {
    return this.toks[Math.min(this.i + n, this.toks.length - 1)];
  }
  private is(k: Tok['k'], v?: string): boolean {
    return this.t.k === k && (v === undefined || this.t.v === v);
  }
  private eat(k: Tok['k'], v?: string): boolean {
    if (!this.is(k, v)) return false;
    this.i++;
    return true;
  }
  private expect(k: Tok['k'], v: string, what: string): void {
    if (!this.eat(k, v)) this.fail(`expected ${what}`);
  }
  private fail(msg: string): never {
    const t = this.t;
    throw new XPathSyntaxError(`${msg}${t.k === 'end' ? ' before the end' : `, found '${t.v}'`}`, t.at);
  }

  whole(): void {
    if (this.is('end')) this.fail('an empty expression');
    this.expr();
    if (!this.is('end')) this.fail('an operator or the end');
  }

  private expr(): void {
    this.binary(['or', 'and', '=', '!=', '<', '>', '<=', '>=', '+', '-', '*', 'div', 'mod']);
  }

  /** All binary operators are left-associative; their precedence does not matter for syntax. */
  private binary(ops: string[]): void {
    this.unary();
    while (this.t.k === 'op' && ops.includes(this.t.v)) {
      this.i++;
      this.unary();
    }
  }

  private unary(): void {
    while (this.eat('op', '-'));
    this.union();
  }

  private union(): void {
    this.pathExpr();
    while (this.eat('op', '|')) this.pathExpr();
  }

  private pathExpr(): void {
    const t = this.t;
    const primary =
      t.k === 'var' || t.k === 'lit' || t.k === 'num' || (t.k === 'p' && t.v === '(') ||
      (t.k === 'name' && this.peek().k === 'p' && this.peek().v === '(' && !NODE_TYPES.has(t.v));
    if (primary) {
      this.primary();
      while (this.is('p', '[')) this.predicate();
      if (this.eat('p', '/') || this.eat('p', '//')) this.relativePath();
      return;
    }
    if (this.eat('p', '//')) return this.relativePath();
    if (this.eat('p', '/')) {
      if (this.startsStep()) this.relativePath();
      return;
    }
    if (!this.startsStep()) this.fail('a path, literal, number, variable or function call');
    this.relativePath();
  }

  private primary(): void {
    if (this.eat('var') || this.eat('lit') || this.eat('num')) return;
    if (this.eat('p', '(')) {
      this.expr();
      this.expect('p', ')', "')'");
      return;
    }
    this.i++; // function name
    this.expect('p', '(', "'('");
    if (!this.eat('p', ')')) {
      this.expr();
      while (this.eat('p', ',')) this.expr();
      this.expect('p', ')', "',' or ')'");
    }
  }

  private startsStep(): boolean {
    const t = this.t;
    return t.k === 'name' || (t.k === 'p' && (t.v === '*' || t.v === '@' || t.v === '.' || t.v === '..'));
  }

  private relativePath(): void {
    this.step();
    while (this.eat('p', '/') || this.eat('p', '//')) this.step();
  }

  private step(): void {
    if (this.eat('p', '.') || this.eat('p', '..')) return;
    if (this.is('name') && this.peek().k === 'p' && this.peek().v === '::') {
      if (!AXES.has(this.t.v)) this.fail('an axis name');
      this.i += 2;
    } else this.eat('p', '@');
    this.nodeTest();
    while (this.is('p', '[')) this.predicate();
  }

  private nodeTest(): void {
    if (this.eat('p', '*')) return;
    if (!this.is('name')) this.fail('a name test or node type');
    const name = this.t.v;
    this.i++;
    if (this.is('p', '(')) {
      if (!NODE_TYPES.has(name)) this.fail(`a node test ('${name}(' is a function call, not a step)`);
      this.i++;
      if (name === 'processing-instruction') this.eat('lit');
      this.expect('p', ')', "')'");
    }
  }

  private predicate(): void {
    this.i++; // [
    this.expr();
    this.expect('p', ']', "']'");
  }
}

/** Throw XPathSyntaxError unless `src` is an XPath 1.0 expression. */
export function checkXPathSyntax(src: string): void {
  new Parser(tokenize(src)).whole();
}

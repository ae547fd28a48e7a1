import { expect } from 'chai';
import { canonicalJson } from '../../src/validators/notaryv1/canonical-json.js';

describe('notaryv1 canonical JSON (as Notary signs it)', () => {
  it('sorts keys by UTF-8 bytes, drops whitespace and escapes strings like Go', () => {
    expect(canonicalJson({ b: 1, a: '<&>\n"\\', c: [true, null, { z: 'x', y: '\u2028' }] })).to.equal(
      '{"a":"\\u003c\\u0026\\u003e\\n\\"\\\\","b":1,"c":[true,null,{"y":"\\u2028","z":"x"}]}',
    );
    expect(canonicalJson({ '\u00e9': 1, z: 2, '\ud83d\ude00': 3 })).to.equal('{"z":2,"é":1,"😀":3}');
  });

  it('refuses numbers that are not integers (TUF metadata holds none)', () => {
    expect(() => canonicalJson({ length: 1.5 })).to.throw(TypeError, /only integers/);
  });
});

/** Database URLs printed by the scripts never carry the password. */
import assert from 'node:assert/strict';
import { withoutPassword } from '../../scripts/infra/postgres';

describe('withoutPassword', () => {
  it('replaces the password and keeps everything else', () => {
    assert.equal(withoutPassword('postgres://postgres:s3cr%40t@127.0.0.1:5432/db'), 'postgres://postgres:…@127.0.0.1:5432/db');
    assert.equal(withoutPassword('postgres://user:p:w@host/db?sslmode=require'), 'postgres://user:…@host/db?sslmode=require');
  });
  it('leaves a URL without a password as it is', () => {
    assert.equal(withoutPassword('postgres://postgres@127.0.0.1:54329/switch_telemetry'), 'postgres://postgres@127.0.0.1:54329/switch_telemetry');
  });
});

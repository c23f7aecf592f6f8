/** The log settings are read on every call and follow the environment, though the last answer is kept (issue 20). */
import assert from 'node:assert/strict';
import { logSettings } from '../../core/config';

describe('log settings', () => {
  it('follow each change of LOG_FORMAT and LOG_LEVEL, and fall back to the default on an invalid value', () => {
    assert.deepEqual(logSettings({}), { LOG_FORMAT: 'text', LOG_LEVEL: 'info' });
    assert.deepEqual(logSettings({ LOG_LEVEL: 'debug' }), { LOG_FORMAT: 'text', LOG_LEVEL: 'debug' });
    assert.deepEqual(logSettings({ LOG_LEVEL: 'debug' }), { LOG_FORMAT: 'text', LOG_LEVEL: 'debug' }, 'asked again');
    assert.deepEqual(logSettings({ LOG_FORMAT: 'json', LOG_LEVEL: 'debug' }), { LOG_FORMAT: 'json', LOG_LEVEL: 'debug' });
    assert.deepEqual(logSettings({ LOG_FORMAT: 'json', LOG_LEVEL: 'loud' }), { LOG_FORMAT: 'json', LOG_LEVEL: 'info' });
    assert.deepEqual(logSettings({ LOG_LEVEL: '' }), { LOG_FORMAT: 'text', LOG_LEVEL: 'info' }, 'empty is unset');
    assert.deepEqual(logSettings({ LOG_FORMAT: 'json' }), { LOG_FORMAT: 'json', LOG_LEVEL: 'info' });
  });
});

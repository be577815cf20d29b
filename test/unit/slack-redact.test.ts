import { describe, expect, it } from 'vitest';
import { createRedactor, logLevelFrom, RedactingLogger } from '../../src/adapters/slack/redact.js';
import { readSlackTokens } from '../../src/adapters/slack/client.js';
import { InputError } from '../../src/core/errors.js';

describe('token redaction', () => {
  it('masks every occurrence of every token, longest first', () => {
    const redact = createRedactor(['xoxb-123', 'xoxb-123-456', '']);
    expect(redact('a xoxb-123-456 b xoxb-123 c')).toBe('a [redacted] b [redacted] c');
  });

  it('the logger redacts objects and errors as well as strings, and honours its level', () => {
    const lines: string[] = [];
    const logger = new RedactingLogger(createRedactor(['xapp-secret']), (level, line) => lines.push(`${level} ${line}`), logLevelFrom('info'));
    logger.debug('dropped xapp-secret');
    logger.info({ headers: { Authorization: 'Bearer xapp-secret' } });
    logger.error(new Error('failed with xapp-secret'));
    expect(lines).toHaveLength(2);
    expect(lines.join('\n')).not.toContain('xapp-secret');
    expect(lines[0]).toContain('Bearer [redacted]');
  });

  it('names a missing token variable without showing any token', () => {
    const slack = { channel: 'C1', approvers: [], botTokenEnv: 'BOT', appTokenEnv: 'APP', allowSelfApproval: false };
    expect(() => readSlackTokens(slack, { BOT: 'xoxb-abc' })).toThrow(InputError);
    expect(() => readSlackTokens(slack, { BOT: 'xoxb-abc' })).toThrow(/\$APP/);
    try {
      readSlackTokens(slack, { BOT: 'xoxb-abc' });
    } catch (err) {
      expect(String(err)).not.toContain('xoxb-abc');
    }
    expect(readSlackTokens(slack, { BOT: ' xoxb-abc\n', APP: 'xapp-def' })).toEqual({ bot: 'xoxb-abc', app: 'xapp-def' });
  });
});

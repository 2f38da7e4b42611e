import { describe, expect, it } from 'vitest';
import { slackConfigSchema, slackSettings } from '../../../adapters/slack/config.ts';

describe('Slack config', () => {
  it('is off without both the signing secret and the bot token', () => {
    const none = slackConfigSchema.parse({});
    expect(slackSettings(none)).toBeUndefined();
    expect(none.SLACK_API_BASE_URL).toBe('https://slack.com/api/');
    expect(
      slackSettings(slackConfigSchema.parse({ SLACK_SIGNING_SECRET: '', SLACK_BOT_TOKEN: '' })),
    ).toBeUndefined();
    const half = slackConfigSchema.safeParse({ SLACK_SIGNING_SECRET: 'abcdef0123456789' });
    expect(half.success).toBe(false);
    expect(JSON.stringify(half.error?.issues)).toContain('SLACK_BOT_TOKEN');
  });

  it('gives the settings when on, with a trailing slash on the API URL', () => {
    const c = slackConfigSchema.parse({
      SLACK_SIGNING_SECRET: 'abcdef0123456789',
      SLACK_BOT_TOKEN: 'xoxb-123-456-abc',
      SLACK_API_BASE_URL: 'http://127.0.0.1:9999/api',
      SLACK_STAFF_CHANNEL: 'C0STAFF0001',
    });
    expect(slackSettings(c)).toEqual({
      signingSecret: 'abcdef0123456789',
      botToken: 'xoxb-123-456-abc',
      apiBaseUrl: 'http://127.0.0.1:9999/api/',
      staffChannel: 'C0STAFF0001',
    });
  });

  it('refuses a token or channel that cannot be one', () => {
    expect(
      slackConfigSchema.safeParse({ SLACK_SIGNING_SECRET: 'abcdef0123456789', SLACK_BOT_TOKEN: 'secret' })
        .success,
    ).toBe(false);
    expect(slackConfigSchema.safeParse({ SLACK_STAFF_CHANNEL: '#laerere' }).success).toBe(false);
  });
});

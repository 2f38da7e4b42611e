import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';

describe('configuration from the environment', () => {
  it('parses per-channel send rates', () => {
    const c = loadConfig({ OUTBOUND_RATE_LIMITS: 'sms=10/1s, teams=50/2s,slack=1/1200ms' });
    expect(c.OUTBOUND_RATE_LIMITS).toEqual({
      sms: { max: 10, duration: 1000 },
      teams: { max: 50, duration: 2000 },
      slack: { max: 1, duration: 1200 },
    });
    expect(loadConfig({}).OUTBOUND_RATE_LIMITS).toEqual({});
  });

  it('refuses what it cannot read, saying what was wrong', () => {
    expect(() => loadConfig({ OUTBOUND_RATE_LIMITS: 'sms=fast' })).toThrow(/sms=fast.*channel=max\/window/);
    expect(() => loadConfig({ DIRECTORY: 'redis' })).toThrow(/DIRECTORY=redis needs REDIS_URL/);
    expect(() => loadConfig({ SCHOOL_HOURS: '16-8' })).toThrow(/HH:MM-HH:MM/);
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT/);
  });
});

import pino from 'pino';

/**
 * Structured logs that never carry message text, names or phone numbers: those
 * fields are removed wherever they appear, so a careless `log.info({ job })` is safe.
 */
export function createLogger(level: string) {
  return pino({
    level,
    redact: {
      paths: [
        'text',
        '*.text',
        '*.*.text',
        'phone',
        '*.phone',
        'senderId',
        '*.senderId',
        'name',
        '*.name',
        'original',
        '*.original',
        'email',
        '*.email',
      ],
      remove: true,
    },
  });
}
export type Logger = pino.Logger;

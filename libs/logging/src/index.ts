import { pino } from 'pino';
import type { Logger } from 'pino';

export type { Logger };

/** Creates the root JSON logger of a service; modules take children bound to `{module}`. */
export function createLogger(options: { service: string; level?: string; destination?: pino.DestinationStream }): Logger {
  const base = { service: options.service };
  const opts = {
    level: options.level ?? 'info',
    base,
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ['token', 'password', 'key', '*.token', '*.password', '*.key', 'req.headers.authorization'], censor: '[redacted]' },
  };
  return options.destination ? pino(opts, options.destination) : pino(opts);
}

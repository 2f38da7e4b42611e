import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Every Prometheus metric of a process, on its own registry (no prom-client global),
 * passed to whoever records. `/metrics` serves `registry.metrics()`.
 * Labels never carry personal data: channels, queues, kinds and outcomes only.
 */
export function createMetrics() {
  const registry = new Registry();
  const metrics = {
    registry,
    /** Time from a turn's arrival (job `at`) to its handling finishing, and handling alone. */
    turnSeconds: new Histogram({
      name: 'skolebro_turn_seconds',
      help: 'Seconds from an inbound message being accepted to its turn being handled',
      labelNames: ['channel'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    jobFailures: new Counter({
      name: 'skolebro_job_failures_total',
      help: 'Jobs that failed an attempt, by queue kind and whether they will be retried',
      labelNames: ['kind', 'retry'] as const,
      registers: [registry],
    }),
    sends: new Counter({
      name: 'skolebro_sends_total',
      help: 'Outbound messages handed to a channel, by channel and receipt status',
      labelNames: ['channel', 'status'] as const,
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'skolebro_queue_depth',
      help: 'Jobs in a queue by state (read from Redis when scraped)',
      labelNames: ['queue', 'state'] as const,
      registers: [registry],
    }),
    inboundOldestWait: new Gauge({
      name: 'skolebro_inbound_oldest_wait_seconds',
      help: 'How long the oldest waiting inbound message has waited (read from Redis when scraped)',
      registers: [registry],
    }),
    deadLetters: new Gauge({
      name: 'skolebro_dead_letters',
      help: 'Entries in the dead-letter list (read from Redis when scraped)',
      registers: [registry],
    }),
    translatorCharacters: new Counter({
      name: 'skolebro_translator_characters_total',
      help: 'Characters billed by the Translator (X-metered-usage)',
      registers: [registry],
    }),
    translatorRequests: new Counter({
      name: 'skolebro_translator_requests_total',
      help: 'Requests to the Translator by outcome (ok, throttled, error, cache_hit)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
  };
  return metrics;
}

export type Metrics = ReturnType<typeof createMetrics>;

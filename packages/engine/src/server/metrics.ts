/** Prometheus metrics of one server (its own registry, so several servers in one process do not mix). */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export class ServerMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({ name: 'smallmind_http_requests_total', help: 'HTTP requests answered', labelNames: ['method', 'route', 'status'] as const, registers: [this.registry] });
  readonly requestSeconds = new Histogram({
    name: 'smallmind_http_request_duration_seconds',
    help: 'Time from request to the end of its response',
    labelNames: ['route'] as const,
    buckets: [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [this.registry],
  });
  readonly promptTokens = new Counter({ name: 'smallmind_prompt_tokens_total', help: 'Prompt tokens of finished generations', labelNames: ['model'] as const, registers: [this.registry] });
  readonly cachedTokens = new Counter({
    name: 'smallmind_prompt_tokens_cached_total',
    help: "Prompt tokens reused from a slot's KV cache (not evaluated)",
    labelNames: ['model'] as const,
    registers: [this.registry],
  });
  readonly generatedTokens = new Counter({ name: 'smallmind_generated_tokens_total', help: 'Tokens generated', labelNames: ['model'] as const, registers: [this.registry] });
  readonly promptSeconds = new Histogram({
    name: 'smallmind_prompt_eval_duration_seconds',
    help: 'Prompt evaluation time of a generation (time to first token after the queue)',
    labelNames: ['model'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly generateSeconds = new Histogram({
    name: 'smallmind_generation_duration_seconds',
    help: 'Token generation time of a generation',
    labelNames: ['model'] as const,
    buckets: [0.05, 0.25, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({ name: 'smallmind_queue_depth', help: 'Requests waiting for a free slot', labelNames: ['model'] as const, registers: [this.registry] });
  readonly slotsBusy = new Gauge({ name: 'smallmind_slots_busy', help: 'Slots running a generation', labelNames: ['model'] as const, registers: [this.registry] });
  readonly rejected = new Counter({ name: 'smallmind_queue_rejections_total', help: 'Requests refused with 429 because the queue was full', labelNames: ['model'] as const, registers: [this.registry] });
}

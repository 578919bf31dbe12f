/**
 * What `GET /metrics` reports: requests by endpoint and status, prompt and generated tokens, the server's
 * admission queue, the engine's sequences and KV blocks (from `model.stats()`), prefix-cache hits,
 * preemptions, and histograms of time to first token, time between streamed tokens and request duration.
 */
import type { Model } from "../../model/model";
import type { Admission } from "../admission";
import { Counter, Gauge, Histogram, type Metric } from "./prometheus";

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const DURATION_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

export class ServerMetrics {
  readonly requests = new Counter(
    "ms4_requests_total",
    "HTTP requests answered, by endpoint and status code.",
  );
  readonly promptTokens = new Counter("ms4_prompt_tokens_total", "Prompt tokens of finished generations.");
  readonly generationTokens = new Counter("ms4_generation_tokens_total", "Tokens generated.");
  readonly timeToFirstToken = new Histogram(
    "ms4_time_to_first_token_seconds",
    "From the request's arrival to its first generated token.",
    LATENCY_BUCKETS,
  );
  readonly interTokenLatency = new Histogram(
    "ms4_inter_token_latency_seconds",
    "Time between successive streamed deltas of one choice.",
    LATENCY_BUCKETS,
  );
  readonly requestDuration = new Histogram(
    "ms4_request_duration_seconds",
    "From arrival to the last byte of generation requests that finished.",
    DURATION_BUCKETS,
  );
  private readonly all: Metric[];

  constructor(model: Model, admission: Admission) {
    const stats = () => (model.disposed ? undefined : model.stats());
    const engine =
      (read: (s: ReturnType<Model["stats"]>) => readonly (readonly [Record<string, string>, number])[]) =>
      () => {
        const s = stats();
        return s === undefined ? [] : read(s);
      };
    this.all = [
      this.requests,
      this.promptTokens,
      this.generationTokens,
      new Gauge(
        "ms4_server_requests",
        "Generation requests admitted (running) or waiting for a slot (queued).",
        () => [
          [{ state: "running" }, admission.running],
          [{ state: "queued" }, admission.queued],
        ],
      ),
      new Gauge(
        "ms4_engine_sequences",
        "Engine sequences: running (holding KV blocks), waiting (queued or preempted), paused (client not reading).",
        engine((s) => [
          [{ state: "running" }, s.running],
          [{ state: "waiting" }, s.waiting],
          [{ state: "paused" }, s.paused],
        ]),
      ),
      new Gauge(
        "ms4_kv_cache_blocks",
        "KV cache blocks: used (held by a sequence), free, cached (reusable prefix content, used or free).",
        engine((s) => [
          [{ state: "used" }, s.usedBlocks],
          [{ state: "free" }, s.freeBlocks],
          [{ state: "cached" }, s.cachedBlocks],
        ]),
      ),
      new Gauge(
        "ms4_kv_cache_usage_ratio",
        "Fraction of KV cache blocks held by sequences.",
        engine((s) => [[{}, s.numBlocks > 0 ? s.usedBlocks / s.numBlocks : 0]]),
      ),
      new Gauge(
        "ms4_prefix_cache_queries_total",
        "Prompt tokens looked up in the prefix cache.",
        engine((s) => [[{}, s.prefixCacheQueryTokens]]),
        "counter",
      ),
      new Gauge(
        "ms4_prefix_cache_hits_total",
        "Prompt tokens whose KV came from the prefix cache.",
        engine((s) => [[{}, s.prefixCacheHitTokens]]),
        "counter",
      ),
      new Gauge(
        "ms4_preemptions_total",
        "Sequences preempted for lack of KV blocks.",
        engine((s) => [[{}, s.preemptions]]),
        "counter",
      ),
      new Gauge(
        "ms4_engine_tokens_per_second",
        "Prompt (prefill) and generated (decode) tokens per second over the engine's recent window.",
        engine((s) => [
          [{ phase: "prefill" }, s.prefillTokensPerSecond],
          [{ phase: "decode" }, s.decodeTokensPerSecond],
        ]),
      ),
      this.timeToFirstToken,
      this.interTokenLatency,
      this.requestDuration,
    ];
  }

  render(): string {
    return this.all.map((m) => m.render()).join("");
  }
}

/**
 * The three Prometheus metric kinds the server exports, rendered in the text exposition format (version
 * 0.0.4). Written here rather than taken from prom-client: the format is a few lines per kind, and the
 * server needs no global registry, default process metrics or push gateway.
 */

export type Labels = Readonly<Record<string, string>>;

export interface Metric {
  render(): string;
}

function labelText(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return "";
  const escapeValue = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
  return `{${entries.map(([k, v]) => `${k}="${escapeValue(v)}"`).join(",")}}`;
}

function header(name: string, help: string, type: string): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`;
}

function formatNumber(v: number): string {
  if (v === Number.POSITIVE_INFINITY) return "+Inf";
  if (v === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(v);
}

/** A counter per label set. */
export class Counter implements Metric {
  private readonly values = new Map<string, number>();

  constructor(
    readonly name: string,
    private readonly help: string,
  ) {}

  inc(labels: Labels = {}, by = 1): void {
    const key = labelText(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }

  get(labels: Labels = {}): number {
    return this.values.get(labelText(labels)) ?? 0;
  }

  render(): string {
    let out = header(this.name, this.help, "counter");
    if (this.values.size === 0) out += `${this.name} 0\n`;
    for (const [labels, v] of this.values) out += `${this.name}${labels} ${formatNumber(v)}\n`;
    return out;
  }
}

/** Values read when scraped (queue lengths, KV blocks): one sample per label set the reader returns. */
export class Gauge implements Metric {
  constructor(
    readonly name: string,
    private readonly help: string,
    private readonly read: () => readonly (readonly [Labels, number])[],
    private readonly type: "gauge" | "counter" = "gauge",
  ) {}

  render(): string {
    let out = header(this.name, this.help, this.type);
    for (const [labels, v] of this.read()) out += `${this.name}${labelText(labels)} ${formatNumber(v)}\n`;
    return out;
  }
}

/** Observations in cumulative buckets (upper bounds in seconds), with their sum and count. */
export class Histogram implements Metric {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;

  constructor(
    readonly name: string,
    private readonly help: string,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Array(bounds.length).fill(0);
  }

  observe(value: number): void {
    this.sum += value;
    this.count++;
    for (let i = 0; i < this.bounds.length; i++) if (value <= this.bounds[i]!) this.counts[i]!++;
  }

  get observations(): number {
    return this.count;
  }

  render(): string {
    let out = header(this.name, this.help, "histogram");
    this.bounds.forEach((b, i) => {
      out += `${this.name}_bucket{le="${formatNumber(b)}"} ${this.counts[i]}\n`;
    });
    out += `${this.name}_bucket{le="+Inf"} ${this.count}\n`;
    out += `${this.name}_sum ${formatNumber(this.sum)}\n${this.name}_count ${this.count}\n`;
    return out;
  }
}

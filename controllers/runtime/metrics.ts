// A few Prometheus counters and gauges, rendered in the text exposition format (0.0.4). Small
// on purpose: a metrics library is not worth a dependency for a handful of series.

type Labels = Record<string, string>;

abstract class Metric {
  protected readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(readonly name: string, readonly help: string, readonly type: 'counter' | 'gauge') {}

  protected slot(labels: Labels) {
    const key = JSON.stringify(Object.entries(labels).sort());
    let s = this.values.get(key);
    if (!s) this.values.set(key, (s = { labels, value: 0 }));
    return s;
  }

  get(labels: Labels = {}): number {
    return this.slot(labels).value;
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`];
    for (const { labels, value } of this.values.values()) lines.push(`${this.name}${formatLabels(labels)} ${value}`);
    return lines.join('\n');
  }
}

export class Counter extends Metric {
  inc(labels: Labels = {}, by = 1): void {
    if (by < 0) throw new Error(`counter ${this.name} cannot decrease`);
    this.slot(labels).value += by;
  }
}

export class Gauge extends Metric {
  set(labels: Labels, value: number): void {
    this.slot(labels).value = value;
  }

  add(labels: Labels, by: number): void {
    this.slot(labels).value += by;
  }
}

export class MetricsRegistry {
  private readonly metrics: Metric[] = [];

  counter(name: string, help: string): Counter {
    const m = new Counter(name, help, 'counter');
    this.metrics.push(m);
    return m;
  }

  gauge(name: string, help: string): Gauge {
    const m = new Gauge(name, help, 'gauge');
    this.metrics.push(m);
    return m;
  }

  render(): string {
    return this.metrics.map((m) => m.render()).join('\n') + '\n';
  }
}

function formatLabels(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
  return `{${entries.map(([k, v]) => `${k}="${esc(v)}"`).join(',')}}`;
}

/** The controller's series, shared by both controllers. */
export function controllerMetrics(registry = new MetricsRegistry()) {
  return {
    registry,
    reconciles: registry.counter('imagestream_backup_reconciles_total', 'Reconciles run, by controller and result.'),
    errors: registry.counter('imagestream_backup_reconcile_errors_total', 'Reconciles that ended in an error, by controller.'),
    bytesUploaded: registry.counter('imagestream_backup_bytes_uploaded_total', 'Layer bytes uploaded to object storage.'),
    bytesSkipped: registry.counter('imagestream_backup_bytes_skipped_total', 'Layer bytes not uploaded because the location held them.'),
    runsActive: registry.gauge('imagestream_backup_runs_active', 'Backups or restores copying data now, by controller.'),
  };
}

export type ControllerMetrics = ReturnType<typeof controllerMetrics>;

import type { TransferProgress } from '../sdk/progress';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** 1536 -> "1.5 KiB"; bytes below 1 KiB are shown whole. */
export function formatBytes(n: number): string {
  let i = 0;
  let v = n;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${Math.round(v)} B` : `${v.toFixed(1)} ${UNITS[i]}`;
}

/** Seconds -> "m:ss" or "h:mm:ss"; "--:--" when unknown. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/**
 * One progress line that fits `width` columns, e.g.
 * `upload [#########.........]  45% 9.0 MiB/20.0 MiB 3.2 MiB/s ETA 0:03`.
 */
export function renderProgressLine(p: { label: string; bytesDone: number; bytesTotal: number; rate: number }, width = 80): string {
  const ratio = p.bytesTotal > 0 ? Math.min(1, p.bytesDone / p.bytesTotal) : 1;
  const pct = `${Math.floor(ratio * 100)}%`.padStart(4);
  const eta = p.rate > 0 ? formatDuration((p.bytesTotal - p.bytesDone) / p.rate) : '--:--';
  const tail = `${pct} ${formatBytes(p.bytesDone)}/${formatBytes(p.bytesTotal)} ${formatBytes(p.rate)}/s ETA ${eta}`;
  const barWidth = Math.max(0, Math.min(40, width - p.label.length - tail.length - 5));
  if (barWidth < 5) return `${p.label} ${tail}`.slice(0, width);
  const filled = Math.round(ratio * barWidth);
  return `${p.label} [${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}] ${tail}`;
}

/** Average throughput over the last few seconds of samples. */
export class RateMeter {
  private samples: { t: number; bytes: number }[] = [];
  constructor(private readonly windowMs = 5000) {}

  /** Records `bytes` done at time `t` (ms) and returns bytes per second. */
  sample(bytes: number, t = Date.now()): number {
    this.samples.push({ t, bytes });
    while (this.samples.length > 2 && t - this.samples[0].t > this.windowMs) this.samples.shift();
    const first = this.samples[0];
    const dt = (t - first.t) / 1000;
    return dt > 0 ? Math.max(0, (bytes - first.bytes) / dt) : 0;
  }

  reset(): void {
    this.samples = [];
  }
}

export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/**
 * Draws a transfer's progress on a TTY (redrawn at most every 100 ms); prints nothing while
 * running on anything else. `finish` prints one plain summary line in both cases.
 */
export class ProgressBar {
  private readonly meter = new RateMeter();
  private readonly started = Date.now();
  private lastDraw = 0;
  private phase = '';
  private drawn = false;

  constructor(private readonly out: ProgressStream) {}

  /** Draws `p`; `label` replaces the phase's name at the start of the line (e.g. a file count). */
  readonly update = (p: TransferProgress & { label?: string }): void => {
    if (!this.out.isTTY) return;
    if (p.phase !== this.phase) {
      this.phase = p.phase;
      this.meter.reset();
    }
    const now = Date.now();
    const rate = this.meter.sample(p.bytesDone, now);
    if (now - this.lastDraw < 100 && p.bytesDone < p.bytesTotal) return;
    this.lastDraw = now;
    const label = p.label ?? (p.phase === 'hash' ? 'hashing' : p.phase);
    this.out.write(`\r${renderProgressLine({ label, bytesDone: p.bytesDone, bytesTotal: p.bytesTotal, rate }, (this.out.columns || 80) - 1)}\x1b[K`);
    this.drawn = true;
  };

  /** Clears the bar and prints `<message> (<size> in <time>, <rate>)`. */
  finish(message: string, bytes: number): void {
    const secs = (Date.now() - this.started) / 1000;
    const rate = secs > 0 ? bytes / secs : 0;
    if (this.drawn) this.out.write('\r\x1b[K');
    this.out.write(`${message} (${formatBytes(bytes)} in ${secs.toFixed(1)}s, ${formatBytes(rate)}/s)\n`);
  }

  /** Erases the bar, so that lines can be printed before it is drawn again (or `finish` is called). */
  clear(): void {
    if (this.drawn) this.out.write('\r\x1b[K');
    this.drawn = false;
  }

  /** Leaves the bar's line so a following error message starts on its own line. */
  abandon(): void {
    if (this.drawn) this.out.write('\n');
    this.drawn = false;
  }
}

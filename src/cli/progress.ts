/** A one-line progress display on stderr when it is a terminal; silent otherwise. */
export class Progress {
  private readonly label: string;
  private readonly total: number | undefined;
  private readonly tty: boolean;
  private readonly start = performance.now();
  private lastDraw = 0;
  private done = 0;
  private finished = false;

  constructor(label: string, total?: number, stream: NodeJS.WriteStream = process.stderr) {
    this.label = label;
    this.total = total;
    this.tty = Boolean(stream.isTTY) && !process.env.CI;
  }

  tick(n = 1): void {
    this.done += n;
    const now = performance.now();
    if (this.tty && (now - this.lastDraw > 100 || this.done === this.total)) {
      this.lastDraw = now;
      process.stderr.write(`\r${this.line(now)}\x1b[K`);
    }
  }

  private line(now: number): string {
    const secs = (now - this.start) / 1000;
    const rate = secs > 0 ? this.done / secs : 0;
    if (this.total && this.total > 0) {
      const frac = Math.min(1, this.done / this.total);
      const width = 24;
      const filled = Math.round(frac * width);
      const eta = rate > 0 ? (this.total - this.done) / rate : 0;
      return `${this.label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${this.done}/${this.total} ` +
        `${rate.toFixed(1)}/s ETA ${eta.toFixed(0)}s`;
    }
    return `${this.label} ${this.done} ${rate.toFixed(1)}/s`;
  }

  finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.tty) process.stderr.write(`\r${this.line(performance.now())}\x1b[K\n`);
  }
}

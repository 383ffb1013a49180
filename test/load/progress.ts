/**
 * A progress bar on stderr: redrawn in place on a terminal, a line every 20 % otherwise (so logs
 * of a non-interactive run stay readable).
 */
const WIDTH = 28;

export class ProgressBar {
  private readonly tty = process.stderr.isTTY;
  private lastDraw = 0;
  private lastStep = -1;
  private readonly startedAt = Date.now();

  private readonly label: string;

  constructor(label: string) {
    this.label = label;
  }

  update(done: number, total: number, note = ''): void {
    const frac = total > 0 ? Math.max(0, Math.min(1, done / total)) : 0;
    if (this.tty) {
      const now = Date.now();
      if (now - this.lastDraw < 100 && frac < 1) return;
      this.lastDraw = now;
      process.stderr.write(`\r\x1b[K${this.render(frac, note)}`);
    } else {
      const step = Math.floor(frac * 5);
      if (step === this.lastStep) return;
      this.lastStep = step;
      process.stderr.write(`${this.render(frac, note)}\n`);
    }
  }

  done(note = ''): void {
    const secs = ((Date.now() - this.startedAt) / 1000).toFixed(1);
    const line = `${this.render(1, note)} (${secs} s)`;
    process.stderr.write(this.tty ? `\r\x1b[K${line}\n` : `${line}\n`);
  }

  private render(frac: number, note: string): string {
    const full = Math.round(frac * WIDTH);
    const bar = `${'#'.repeat(full)}${'.'.repeat(WIDTH - full)}`;
    const pct = `${Math.round(frac * 100)}`.padStart(3);
    const cols = process.stderr.columns;
    const line = `${this.label.padEnd(26)} [${bar}] ${pct}% ${note}`;
    return this.tty && cols > 20 ? line.slice(0, cols - 1) : line;
  }
}

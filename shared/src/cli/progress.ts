/**
 * Progress of a long step on stderr: a redrawn bar with ETA on a terminal, and nothing on a
 * pipe or in CI (where the callers log structured progress lines instead).
 */
export class ProgressBar {
  private readonly started = performance.now();
  private readonly interactive: boolean;

  constructor(
    private readonly label: string,
    private readonly total: number,
    stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.interactive = Boolean(stream.isTTY) && process.env.CI === undefined;
    this.stream = stream;
  }

  private readonly stream: NodeJS.WriteStream;

  get enabled(): boolean {
    return this.interactive;
  }

  update(done: number, detail = ''): void {
    if (!this.interactive) return;
    const share = this.total === 0 ? 1 : Math.min(1, done / this.total);
    const width = 24;
    const filled = Math.round(share * width);
    const elapsed = (performance.now() - this.started) / 1000;
    const eta = share > 0 ? (elapsed * (1 - share)) / share : 0;
    const bar = `${'='.repeat(filled)}${' '.repeat(width - filled)}`;
    this.stream.write(
      `\r${this.label} [${bar}] ${done}/${this.total} ${detail} eta ${formatSeconds(eta)}\x1b[K`,
    );
  }

  finish(): void {
    if (this.interactive) this.stream.write('\n');
  }
}

function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(0)}s`;
  return `${Math.floor(seconds / 60)}m${Math.round(seconds % 60)}s`;
}

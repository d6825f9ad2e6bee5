// Visible progress: each step shows a spinner while it runs (on a TTY) and a
// tick with its elapsed time when the next step starts or the run ends.
const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export class Progress {
  private current?: { text: string; started: number };
  private timer?: NodeJS.Timeout;
  private frame = 0;
  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}

  private elapsed(): string {
    return this.current ? `${((Date.now() - this.current.started) / 1000).toFixed(1)}s` : '';
  }

  /** Start a step (ending the previous one with a tick). */
  step(text: string): void {
    this.done();
    this.current = { text, started: Date.now() };
    if (this.stream.isTTY) {
      this.timer = setInterval(() => {
        this.frame = (this.frame + 1) % FRAMES.length;
        // One terminal row only: "\r" returns to the start of the last wrapped row, so a wider line would leave copies behind.
        const width = (this.stream.columns || 80) - 1;
        let line = `${FRAMES[this.frame]} ${this.current!.text} (${this.elapsed()})`;
        if (line.length > width) line = `${line.slice(0, width - 1)}…`;
        this.stream.write(`\r${line}\u001b[K`);
      }, 120);
      this.timer.unref();
    }
  }

  /**
   * What ops report while they work: a "warning: ..." is shown as a warning line (!), never as a step that
   * then gets a ✓; anything else starts a new step.
   */
  log(message: string): void {
    const warning = /^warning: ([\s\S]*)$/.exec(message);
    if (!warning) return this.step(message);
    this.done();
    this.stream.write(`! ${warning[1]}\n`);
  }

  /** End the current step with ✓ (or ✗). */
  done(ok = true): void {
    if (!this.current) return;
    if (this.timer) clearInterval(this.timer);
    this.stream.write(`${this.stream.isTTY ? '\r' : ''}${ok ? '✓' : '✗'} ${this.current.text} (${this.elapsed()})${this.stream.isTTY ? '\u001b[K' : ''}\n`);
    this.current = undefined;
  }
}

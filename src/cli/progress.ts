/** One status line on stderr, redrawn at most every 200 ms when it is a terminal. */
export class Progress {
  private last = 0;
  private shown = false;
  private readonly tty = process.stderr.isTTY === true;

  update(line: string): void {
    const now = Date.now();
    if (now - this.last < (this.tty ? 200 : 5000)) return;
    this.last = now;
    if (this.tty) {
      process.stderr.write(`\r\x1b[2K${line}`);
      this.shown = true;
    } else {
      process.stderr.write(`${line}\n`);
    }
  }

  /** A permanent line above the status line. */
  log(line: string): void {
    this.clear();
    process.stderr.write(`${line}\n`);
  }

  done(): void {
    this.clear();
  }

  private clear(): void {
    if (this.shown) process.stderr.write('\r\x1b[2K');
    this.shown = false;
  }
}

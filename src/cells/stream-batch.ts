/**
 * Batches a cell's console output before it reaches the output area. The
 * service sends one event per write; added one by one, JupyterLab merges
 * each into the cell's last stream output and renders the merged text again,
 * so 10,000 console.log lines took 27 s and 200,000 froze the page. Here
 * consecutive writes to one stream are joined and added at most every
 * `delayMs`, and at once before any other output (order is kept).
 */
export interface StreamOutput {
  output_type: 'stream';
  name: 'stdout' | 'stderr';
  text: string;
}

export class StreamBatcher<T extends { output_type: string }> {
  private name: 'stdout' | 'stderr' | null = null;
  private parts: string[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly add: (out: T | StreamOutput) => void,
    private readonly delayMs = 50,
  ) {}

  /** An output of the cell, in the order the cell made it. */
  push(out: T | StreamOutput): void {
    if (!isStream(out)) {
      this.flush();
      this.add(out);
      return;
    }
    if (this.name !== null && this.name !== out.name) this.flush();
    this.name = out.name;
    this.parts.push(out.text);
    this.timer ??= setTimeout(() => this.flush(), this.delayMs);
  }

  /** Adds what is pending now (the cell ended, or another kind of output follows). */
  flush(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.name === null) return;
    const out: StreamOutput = { output_type: 'stream', name: this.name, text: this.parts.join('') };
    this.name = null;
    this.parts = [];
    this.add(out);
  }
}

function isStream(out: { output_type: string }): out is StreamOutput {
  return out.output_type === 'stream';
}

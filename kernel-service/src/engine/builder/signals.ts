/**
 * Signals: named slices of the engine's single flat arena. The builder
 * creates base signals (each gets an offset when the arena is laid out) and
 * contiguous views of them; operators refer to signals, and dependency
 * analysis works on base signals.
 */
export class BaseSignal {
  /** Offset in the arena, set by `SignalTable.layout()`. */
  offset = -1;
  constructor(
    readonly id: number,
    readonly name: string,
    readonly size: number,
    /** Initial value (zeros if undefined). */
    readonly init: Float64Array | undefined,
    /** True for values no operator writes (weights, biases, constants). */
    readonly constant: boolean,
  ) {}
}

/** A contiguous part of a base signal. */
export class Sig {
  constructor(
    readonly base: BaseSignal,
    readonly start: number,
    readonly size: number,
  ) {}
  get name(): string {
    return this.start === 0 && this.size === this.base.size ? this.base.name : `${this.base.name}[${this.start}:${this.start + this.size}]`;
  }
  /** Absolute offset in the arena (after layout). */
  get offset(): number {
    if (this.base.offset < 0) throw new Error(`signal ${this.name} has not been laid out`);
    return this.base.offset + this.start;
  }
  view(start: number, size: number): Sig {
    if (start < 0 || start + size > this.size) throw new Error(`view [${start}, ${start + size}) out of range for ${this.name}`);
    return new Sig(this.base, this.start + start, size);
  }
}

export class SignalTable {
  readonly bases: BaseSignal[] = [];
  private laidOut = false;
  totalSize = 0;

  add(name: string, size: number, init?: Float64Array, constant = false): Sig {
    if (this.laidOut) throw new Error('cannot add signals after layout');
    if (init !== undefined && init.length !== size) throw new Error(`signal ${name}: init has ${init.length} values, expected ${size}`);
    const b = new BaseSignal(this.bases.length, name, size, init, constant);
    this.bases.push(b);
    return new Sig(b, 0, size);
  }

  /** Assigns arena offsets in the given order (default: creation order); returns the arena size. */
  layout(order: readonly BaseSignal[] = this.bases): number {
    if (order.length !== this.bases.length) throw new Error('layout order must list every signal once');
    let off = 0;
    for (const b of order) {
      b.offset = off;
      off += b.size;
    }
    this.totalSize = off;
    this.laidOut = true;
    return off;
  }

  /** Writes every signal's initial value into the arena. */
  initialize(arena: Float64Array | Float32Array): void {
    arena.fill(0);
    for (const b of this.bases) if (b.init !== undefined) arena.set(b.init, b.offset);
  }
}

import { afterEach, describe, expect, it, vi } from 'vitest';
import { StreamBatcher } from '../cells/stream-batch.js';

type Out = { output_type: string; name?: string; text?: string; data?: unknown };

describe('StreamBatcher', () => {
  afterEach(() => vi.useRealTimers());

  it('joins consecutive writes to a stream, keeps the order with other outputs and streams, and adds at most every delay', () => {
    vi.useFakeTimers();
    const added: Out[] = [];
    const b = new StreamBatcher<Out>((o) => added.push(o), 50);
    for (let i = 0; i < 10_000; i++) b.push({ output_type: 'stream', name: 'stdout', text: `line ${i}\n` });
    expect(added).toHaveLength(0);
    vi.advanceTimersByTime(50);
    expect(added).toHaveLength(1);
    expect(added[0]!.text!.split('\n')).toHaveLength(10_001);
    b.push({ output_type: 'stream', name: 'stdout', text: 'a' });
    b.push({ output_type: 'stream', name: 'stderr', text: 'b' });
    b.push({ output_type: 'stream', name: 'stderr', text: 'c' });
    b.push({ output_type: 'display_data', data: 1 });
    b.push({ output_type: 'stream', name: 'stdout', text: 'd' });
    b.flush();
    b.flush();
    expect(added.slice(1)).toEqual([
      { output_type: 'stream', name: 'stdout', text: 'a' },
      { output_type: 'stream', name: 'stderr', text: 'bc' },
      { output_type: 'display_data', data: 1 },
      { output_type: 'stream', name: 'stdout', text: 'd' },
    ]);
    vi.advanceTimersByTime(100); // the flushed timer adds nothing more
    expect(added).toHaveLength(5);
  });
});

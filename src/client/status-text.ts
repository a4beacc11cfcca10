/** What the status bar says about the connection (pure, unit tested). */
import type { ConnectionStatus } from './client.js';

/** `text` as a sentence: a full stop added, unless it ends its sentence itself ('... refused.'). */
export function sentence(text: string): string {
  return /[.!?…]$/.test(text) ? text : `${text}.`;
}

export function statusText(s: ConnectionStatus): { label: string; title: string } {
  switch (s.state) {
    case 'connected':
      return { label: 'nefsim: connected', title: s.detail };
    case 'connecting':
      return { label: 'nefsim: connecting…', title: s.detail };
    case 'disconnected': {
      const retry =
        s.retryInMs !== undefined ? `; retrying in ${Math.max(1, Math.round(s.retryInMs / 1000))} s (attempt ${s.attempt})` : '';
      // (the retry goes on the detail's sentence: its own full stop would read '.;')
      const detail = retry ? s.detail.replace(/\.$/, '') : s.detail;
      return { label: 'nefsim: disconnected', title: `${sentence(`${detail}${retry}`)} Click to retry now.` };
    }
    case 'stopped':
      return { label: 'nefsim: unavailable', title: `${sentence(s.detail)} Click to retry.` };
    default:
      return { label: 'nefsim: idle', title: s.detail };
  }
}

/**
 * The extension's one service client, shared by its plugins (the MIME
 * renderer uses it to fetch finer data on zoom when the service is there).
 */
import type { NefsimClient } from './client.js';

let current: NefsimClient | null = null;

export function setSharedClient(client: NefsimClient | null): void {
  current = client;
}

export function sharedClient(): NefsimClient | null {
  return current;
}

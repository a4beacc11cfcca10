import { Token } from '@lumino/coreutils';
import type { NefsimClient } from './client/client.js';
import type { DesignSessions } from './cells/sessions.js';

/** The extension's service client and the notebooks' design sessions. */
export interface INefsimService {
  readonly client: NefsimClient;
  readonly sessions: DesignSessions;
}

export const INefsimService = new Token<INefsimService>(
  'jupyterlab-nefsim:INefsimService',
  'The nefsim service client and design sessions.',
);

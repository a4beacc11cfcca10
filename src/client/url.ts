/**
 * Where the service is. Through jupyter-server-proxy (the default), the socket
 * is `<ws base url>/nefsim/<path>` with Jupyter's own credentials (cookie, or
 * the token JupyterLab appends to WebSocket URLs), so it works when the
 * browser is on another machine and behind JupyterHub. A settings entry can
 * name a standalone service (`nefsim serve`) instead.
 */

/** The subset of ServerConnection.ISettings the URL needs. */
export interface ServerSettingsLike {
  wsUrl: string;
  token: string;
  appendToken: boolean;
}

/** Path of the service's WebSocket endpoint below its root. */
export const SERVICE_WS_PATH = 'ws';
/** Name under which jupyter-server-proxy serves the service. */
export const PROXY_NAME = 'nefsim';

export function serviceSocketUrl(settings: ServerSettingsLike, standaloneUrl = '', standaloneToken = ''): string {
  if (standaloneUrl.trim()) {
    const url = new URL(standaloneUrl.trim());
    if (standaloneToken) url.searchParams.set('token', standaloneToken);
    return url.toString();
  }
  const base = settings.wsUrl.endsWith('/') ? settings.wsUrl : settings.wsUrl + '/';
  const url = new URL(`${PROXY_NAME}/${SERVICE_WS_PATH}`, base);
  if (settings.appendToken && settings.token) url.searchParams.set('token', settings.token);
  return url.toString();
}

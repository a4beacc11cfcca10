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

/**
 * The service's health check (`/healthz`, answered with "ok") at the address
 * of its socket: http(s) for ws(s), the socket's path segment replaced, the
 * query (with its token) dropped.
 */
export function serviceHealthUrl(socketUrl: string): string {
  const url = new URL(socketUrl);
  url.protocol = url.protocol === 'wss:' ? 'https:' : url.protocol === 'ws:' ? 'http:' : url.protocol;
  url.search = '';
  url.hash = '';
  const path = url.pathname.endsWith(`/${SERVICE_WS_PATH}`) ? url.pathname.slice(0, -SERVICE_WS_PATH.length) : url.pathname;
  url.pathname = `${path.endsWith('/') ? path : path + '/'}healthz`;
  return url.toString();
}

/**
 * Whether the service answers its health check at the socket's address
 * (within `timeoutMs`). Another origin's answer is opaque to the page, and
 * counts: something listens there.
 */
export async function serviceAnswers(socketUrl: string, timeoutMs = 3000): Promise<boolean> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  try {
    const res = await fetch(serviceHealthUrl(socketUrl), {
      mode: 'no-cors',
      credentials: 'same-origin',
      cache: 'no-store',
      signal: abort.signal,
    });
    return res.type === 'opaque' || (res.ok && (await res.text()).trim() === 'ok');
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

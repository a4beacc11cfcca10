/**
 * The user's cache folder for nefsim's on-disk caches (decoders, assembled
 * WebAssembly): `$XDG_CACHE_HOME/nefsim/<what>`, else `~/.cache/nefsim/<what>`.
 * Only absolute paths count (the XDG spec ignores a relative
 * XDG_CACHE_HOME; an empty HOME would put the cache in the current folder,
 * for a run its run folder): otherwise null, no disk cache.
 */
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';

export function userCacheDir(env: NodeJS.ProcessEnv, what: string): string | null {
  const xdg = env['XDG_CACHE_HOME'];
  if (xdg && isAbsolute(xdg)) return join(xdg, 'nefsim', what);
  let home: string;
  try {
    home = homedir();
  } catch {
    return null; // no home (e.g. a system user)
  }
  return home && isAbsolute(home) ? join(home, '.cache', 'nefsim', what) : null;
}

/**
 * Module resolution hook (registered with node:module `register`): a model
 * file's `import ... from 'nefsim'` resolves to this very package, wherever
 * the model file lives (a run folder, the user's home, /tmp). The model and
 * the CLI then share one engine instance, so `instanceof Network` holds and a
 * run folder's model.mjs stays a verbatim copy of the user's file.
 */
const NEFSIM_ENTRY = new URL('../index.js', import.meta.url).href;

interface ResolveResult {
  url: string;
  shortCircuit?: boolean;
  format?: string | null;
}
type NextResolve = (specifier: string, context: unknown) => Promise<ResolveResult>;

export async function resolve(specifier: string, context: unknown, nextResolve: NextResolve): Promise<ResolveResult> {
  if (specifier === 'nefsim') return { url: NEFSIM_ENTRY, shortCircuit: true, format: 'module' };
  return nextResolve(specifier, context);
}

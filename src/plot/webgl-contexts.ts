/**
 * The WebGL contexts that plotly makes for our plots. Browsers keep at most
 * about 16 per page (Chromium: then "Too many active WebGL contexts. Oldest
 * context will be lost", and that plot goes blank), and a context is freed
 * only when its canvas is collected. Plotly makes two or more per WebGL plot,
 * and more for each PNG it renders (Plotly.toImage draws a hidden copy and
 * drops it). So the contexts made while our code draws are recorded, and
 * those whose canvas has left the page (a purged plot, toImage's copy) are
 * released at once with WEBGL_lose_context.
 */
type GLContext = WebGLRenderingContext | WebGL2RenderingContext;

const contexts = new Set<GLContext>();
let capturing = 0;
let patched = false;

function patch(): void {
  if (patched || typeof HTMLCanvasElement === 'undefined') return;
  patched = true;
  const original = HTMLCanvasElement.prototype.getContext;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- getContext's overloads cannot be restated
  (HTMLCanvasElement.prototype as any).getContext = function (this: HTMLCanvasElement, type: string, ...rest: unknown[]) {
    const ctx = (original as (this: HTMLCanvasElement, type: string, ...rest: unknown[]) => RenderingContext | null).call(
      this,
      type,
      ...rest,
    );
    if (capturing > 0 && ctx && /webgl/i.test(type)) contexts.add(ctx as GLContext);
    return ctx;
  };
}

/** Runs `f` recording the WebGL contexts made meanwhile (only ours: other code's contexts are left alone). */
export async function recordingContexts<T>(f: () => Promise<T>): Promise<T> {
  patch();
  capturing++;
  try {
    return await f();
  } finally {
    capturing--;
  }
}

/**
 * Frees the recorded contexts whose canvas is no longer in the page, but for
 * those `shown` keeps: a live plot's canvas can be out of the page for a
 * while (a windowed notebook takes the cells scrolled away out of it), and
 * a lost context is not drawn again.
 */
export function releaseDetached(shown: (canvas: HTMLCanvasElement) => boolean): void {
  for (const ctx of contexts) {
    if (ctx.canvas instanceof HTMLCanvasElement && (ctx.canvas.isConnected || shown(ctx.canvas))) continue;
    contexts.delete(ctx);
    try {
      ctx.getExtension('WEBGL_lose_context')?.loseContext();
    } catch {
      // already lost
    }
  }
}

/** Recorded contexts still in the page, or kept by `shown` (the browser counts them too). */
export function liveContexts(shown: (canvas: HTMLCanvasElement) => boolean): number {
  let n = 0;
  for (const ctx of contexts) if (ctx.canvas instanceof HTMLCanvasElement && (ctx.canvas.isConnected || shown(ctx.canvas))) n++;
  return n;
}

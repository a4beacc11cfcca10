/**
 * The WebGL contexts that plotly makes for our plots. Browsers keep at most
 * about 16 per page (Chromium: then "Too many active WebGL contexts. Oldest
 * context will be lost", and that plot goes blank), and a context is freed
 * only when its canvas is collected. Plotly makes two or more per WebGL plot,
 * and more for each PNG it renders (Plotly.toImage draws a hidden copy and
 * drops it). So the contexts made for our plots' canvases while we draw
 * are recorded, and those whose canvas has left the page (a purged plot,
 * toImage's copy) are released at once with WEBGL_lose_context.
 */
type GLContext = WebGLRenderingContext | WebGL2RenderingContext;

const contexts = new Set<GLContext>();
/** The nodes of the plots being drawn: a context is recorded when its canvas is in one of them. */
const drawing: Node[] = [];
let patched = false;

/**
 * A canvas of a hidden copy Plotly.toImage draws for a PNG: a graph div of its own, added to the page's body and
 * removed when the PNG is made, whose config plotly marks `_exportedPlot`.
 */
function inExportCopy(canvas: HTMLCanvasElement): boolean {
  for (let el: HTMLElement | null = canvas.parentElement; el; el = el.parentElement) {
    if ((el as HTMLElement & { _context?: { _exportedPlot?: unknown } })._context?._exportedPlot === true) return true;
  }
  return false;
}

/**
 * Ours: inside a plot being drawn, or in a PNG copy (another's copy, if any, is dropped as soon as made: freeing its
 * contexts once it is off the page takes nothing from anyone). Any context made while we drew was recorded, and
 * one of another extension's canvases off the page (an offscreen canvas) was lost as if it were a purged plot's.
 */
function ours(canvas: HTMLCanvasElement): boolean {
  return drawing.some((node) => node.contains(canvas)) || inExportCopy(canvas);
}

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
    if (drawing.length > 0 && ctx && /webgl/i.test(type) && ours(this)) contexts.add(ctx as GLContext);
    return ctx;
  };
}

/**
 * Runs `f`, which draws a plot in `node`, recording the WebGL contexts made meanwhile for canvases in `node` or in
 * Plotly.toImage's copies (other code's contexts are left alone).
 */
export async function recordingContexts<T>(node: Node, f: () => Promise<T>): Promise<T> {
  patch();
  drawing.push(node);
  try {
    return await f();
  } finally {
    drawing.splice(drawing.indexOf(node), 1);
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

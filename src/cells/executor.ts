/**
 * The notebook cell executor: model cells go to the notebook's design session
 * in the nefsim service, every other cell to JupyterLab's default executor
 * (the kernel). Provided as INotebookCellExecutor, the place JupyterLab 4.1+
 * reserves for routing execution.
 */
import type { INotebookCellExecutor } from '@jupyterlab/notebook';
import { isModelCell, looksLikeModelCode, plotsRunOf } from './model.js';

export type RunCellOptions = INotebookCellExecutor.IRunCellOptions;
export type RunCell = (options: RunCellOptions) => Promise<boolean>;

export interface RoutingExecutorOptions {
  /** JupyterLab's own runCell (kernel execution, markdown rendering). */
  runDefault: RunCell;
  /** Runs a model cell in the design session. */
  runModelCell: RunCell;
  /** Fetches the plots of a plots cell's run again (cells added by "Plot probes"). */
  runPlotsCell?: RunCell;
  /**
   * Called when the kernel refused a cell that is not a model cell with a
   * SyntaxError and its source reads as nefsim JavaScript: the user most
   * likely forgot to mark it as a model cell.
   */
  onJavaScriptInKernel?: (options: RunCellOptions) => void;
}

/** Whether the notebook's kernel is Python, as its metadata says (true when it says nothing: JupyterLab's default). */
function pythonKernel(options: RunCellOptions): boolean {
  const nb = (options as { notebook?: { getMetadata?: (key: string) => unknown } }).notebook;
  if (typeof nb?.getMetadata !== 'function') return true;
  const spec = nb.getMetadata('kernelspec') as { language?: unknown } | undefined;
  const info = nb.getMetadata('language_info') as { name?: unknown } | undefined;
  const language = typeof spec?.language === 'string' ? spec.language : typeof info?.name === 'string' ? info.name : undefined;
  return language === undefined || language.toLowerCase() === 'python';
}

/** The source of a cell model, where it has one (JupyterLab's cell models keep it in their shared model). */
function sourceOf(model: unknown): string {
  const shared = (model as { sharedModel?: { getSource?: () => unknown } }).sharedModel;
  const source = typeof shared?.getSource === 'function' ? shared.getSource() : undefined;
  return typeof source === 'string' ? source : '';
}

export function createRoutingExecutor(options: RoutingExecutorOptions): INotebookCellExecutor {
  return {
    runCell(runOptions: RunCellOptions): Promise<boolean> {
      if (isModelCell(runOptions.cell.model)) return options.runModelCell(runOptions);
      if (options.runPlotsCell && plotsRunOf(runOptions.cell.model)) return options.runPlotsCell(runOptions);
      const hint = options.onJavaScriptInKernel;
      if (!hint || runOptions.cell.model.type !== 'code' || !pythonKernel(runOptions)) return options.runDefault(runOptions);
      // the kernel's error comes back as a KernelError (JupyterLab's runCell throws it), named by errorName
      return options.runDefault(runOptions).catch((err: unknown) => {
        if ((err as { errorName?: unknown } | null)?.errorName === 'SyntaxError' && looksLikeModelCode(sourceOf(runOptions.cell.model)))
          hint(runOptions);
        throw err;
      });
    },
  };
}

/**
 * The notebook cell executor: model cells go to the notebook's design session
 * in the nefsim service, every other cell to JupyterLab's default executor
 * (the kernel). Provided as INotebookCellExecutor, the place JupyterLab 4.1+
 * reserves for routing execution.
 */
import type { INotebookCellExecutor } from '@jupyterlab/notebook';
import { isModelCell, plotsRunOf } from './model.js';

export type RunCellOptions = INotebookCellExecutor.IRunCellOptions;
export type RunCell = (options: RunCellOptions) => Promise<boolean>;

export interface RoutingExecutorOptions {
  /** JupyterLab's own runCell (kernel execution, markdown rendering). */
  runDefault: RunCell;
  /** Runs a model cell in the design session. */
  runModelCell: RunCell;
  /** Fetches the plots of a plots cell's run again (cells added by "Plot probes"). */
  runPlotsCell?: RunCell;
}

export function createRoutingExecutor(options: RoutingExecutorOptions): INotebookCellExecutor {
  return {
    runCell(runOptions: RunCellOptions): Promise<boolean> {
      if (isModelCell(runOptions.cell.model)) return options.runModelCell(runOptions);
      if (options.runPlotsCell && plotsRunOf(runOptions.cell.model)) return options.runPlotsCell(runOptions);
      return options.runDefault(runOptions);
    },
  };
}

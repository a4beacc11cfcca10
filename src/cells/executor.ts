/**
 * The notebook cell executor: model cells go to the notebook's design session
 * in the nefsim service, every other cell to JupyterLab's default executor
 * (the kernel). Provided as INotebookCellExecutor, the place JupyterLab 4.1+
 * reserves for routing execution.
 */
import type { INotebookCellExecutor } from '@jupyterlab/notebook';
import { isModelCell } from './model.js';

export type RunCellOptions = INotebookCellExecutor.IRunCellOptions;
export type RunCell = (options: RunCellOptions) => Promise<boolean>;

export interface RoutingExecutorOptions {
  /** JupyterLab's own runCell (kernel execution, markdown rendering). */
  runDefault: RunCell;
  /** Runs a model cell in the design session. */
  runModelCell: RunCell;
}

export function createRoutingExecutor(options: RoutingExecutorOptions): INotebookCellExecutor {
  return {
    runCell(runOptions: RunCellOptions): Promise<boolean> {
      return isModelCell(runOptions.cell.model) ? options.runModelCell(runOptions) : options.runDefault(runOptions);
    },
  };
}

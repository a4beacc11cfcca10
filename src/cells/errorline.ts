/**
 * Marks the line of an error in a cell's editor: the cursor moves there and
 * the line is highlighted until the cell runs again or is edited.
 */
import type { Cell } from '@jupyterlab/cells';

export const ERROR_LINE_CLASS = 'nefsim-ErrorLine';

export function clearErrorLine(cell: Cell): void {
  cell.node.querySelectorAll(`.${ERROR_LINE_CLASS}`).forEach((el) => el.classList.remove(ERROR_LINE_CLASS));
  cell.node.removeAttribute('data-nefsim-error-line');
}

/** line is 1-based. */
export function markErrorLine(cell: Cell, line: number): void {
  cell.node.setAttribute('data-nefsim-error-line', String(line));
  const editor = cell.editor;
  if (editor) {
    const last = Math.max(0, editor.lineCount - 1);
    const l = Math.min(Math.max(0, line - 1), last);
    try {
      editor.setCursorPosition({ line: l, column: 0 });
    } catch {
      // the editor may not be attached yet
    }
  }
  const apply = () => {
    const lines = cell.node.querySelectorAll('.jp-InputArea-editor .cm-line');
    const el = lines.item(line - 1);
    if (el) el.classList.add(ERROR_LINE_CLASS);
  };
  apply();
  // CodeMirror may redraw the line after focus changes: apply once more.
  requestAnimationFrame(apply);
  const model = cell.model;
  const onChange = () => {
    clearErrorLine(cell);
    model.contentChanged.disconnect(onChange);
  };
  model.contentChanged.connect(onChange);
}

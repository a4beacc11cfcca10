/** The Run dialog: duration, dt, seed, partitions, trials or a sweep, jobs, executor, precision, label. */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';
import type { RunOptions } from '../client/protocol.js';
import { fieldValue, parseRunForm } from './options.js';

export interface RunDialogDefaults {
  duration: number;
  dt: number;
  seed?: number;
  partitions?: number;
  trials?: number;
  sweep?: Record<string, unknown>[];
  executor?: 'local' | 'slurm';
  dtype?: 'float64' | 'float32';
}

class RunForm extends Widget implements Dialog.IBodyWidget<Record<string, string>> {
  private inputs = new Map<string, HTMLInputElement | HTMLSelectElement>();

  /** `raw`: what the user typed before, shown again after a validation error. */
  constructor(defaults: RunDialogDefaults, label: string, raw?: Record<string, string>) {
    super();
    this.addClass('nefsim-RunDialog');
    const field = (name: string, text: string, value: string, attrs: Record<string, string> = {}) => {
      const l = document.createElement('label');
      l.textContent = text;
      l.htmlFor = `nefsim-run-${name}`;
      const input = document.createElement('input');
      input.id = `nefsim-run-${name}`;
      input.name = name;
      input.value = value;
      for (const [k, v] of Object.entries(attrs)) input.setAttribute(k, v);
      this.node.append(l, input);
      this.inputs.set(name, input);
    };
    // Text inputs, not type="number": JupyterLab's dialog disables Run while any input is :invalid, without
    // saying which or why, and a number input holding what is not a number ("1-2", "1e") is, whatever its
    // min or step. parseRunForm reads the text as typed and names the field at fault.
    const number = { type: 'text', inputmode: 'decimal' };
    field('duration', 'Duration (s)', String(defaults.duration), number);
    field('dt', 'dt (s)', String(defaults.dt), number);
    field('seed', 'Seed', defaults.seed !== undefined ? String(defaults.seed) : '', { ...number, placeholder: "network's own" });
    field('partitions', 'Partitions', String(defaults.partitions ?? 1), number);
    field('trials', 'Trials', String(defaults.trials ?? 1), number);
    field('sweep', 'or sweep (JSON)', defaults.sweep ? JSON.stringify(defaults.sweep) : '', {
      type: 'text',
      placeholder: '[{"tau": 0.05}, {"tau": 0.1}]',
    });
    field('jobs', 'Jobs at once', '', { ...number, placeholder: 'cores' });
    const choice = (name: string, text: string, options: [string, string][], value: string) => {
      const l = document.createElement('label');
      l.textContent = text;
      l.htmlFor = `nefsim-run-${name}`;
      const sel = document.createElement('select');
      sel.id = `nefsim-run-${name}`;
      sel.name = name;
      for (const [v, t] of options) {
        const o = document.createElement('option');
        o.value = v;
        o.textContent = t;
        sel.appendChild(o);
      }
      sel.value = value;
      this.node.append(l, sel);
      this.inputs.set(name, sel);
    };
    choice(
      'executor',
      'Executor',
      [
        ['local', 'local processes'],
        ['slurm', 'Slurm (sbatch)'],
      ],
      defaults.executor ?? 'local',
    );
    choice(
      'dtype',
      'Precision',
      [
        ['float64', 'float64'],
        ['float32', 'float32 (faster on large models)'],
      ],
      defaults.dtype ?? 'float64',
    );
    field('label', 'Label', label, { type: 'text', placeholder: 'optional' });
    const note = document.createElement('div');
    note.className = 'nefsim-RunDialog-note';
    note.textContent =
      "The run is detached: it goes on if you close the notebook or the service restarts. It runs the notebook's model cells.";
    this.node.appendChild(note);
    for (const [k, v] of Object.entries(raw ?? {})) {
      const el = this.inputs.get(k);
      if (el) el.value = v;
    }
  }

  getValue(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, el] of this.inputs) out[k] = fieldValue(el.value, el instanceof HTMLInputElement && el.validity.badInput);
    return out;
  }
}

/** Shows the dialog; resolves with the options, or null if cancelled. */
export async function askRunOptions(defaults: RunDialogDefaults, label: string): Promise<RunOptions | null> {
  let raw: Record<string, string> | undefined;
  for (;;) {
    const result = await showDialog({
      title: 'Run the model (nefsim)',
      body: new RunForm(defaults, label, raw),
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Run' })],
      focusNodeSelector: 'input',
    });
    if (!result.button.accept || !result.value) return null;
    const parsed = parseRunForm(result.value);
    if (typeof parsed !== 'string') return parsed;
    await showDialog({ title: 'Run options', body: parsed, buttons: [Dialog.okButton()] });
    raw = result.value; // every field as typed, to correct the one at fault
  }
}

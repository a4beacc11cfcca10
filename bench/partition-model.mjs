// A model module for partitioned runs of the benchmark models:
// params { model: 'circconv256' | 'integrators1000' | ... }.
import { MODELS } from './models.mjs';

export default function build({ model }) {
  if (!(model in MODELS)) throw new Error(`unknown model '${model}' (choose from ${Object.keys(MODELS).join(', ')})`);
  return MODELS[model]();
}

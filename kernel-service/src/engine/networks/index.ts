/**
 * Prebuilt networks with Nengo's structure, defaults and attribute names
 * (nengo.networks): EnsembleArray, Product, CircularConvolution as in Nengo 4.1,
 * and Integrator, Oscillator as in Nengo 2 (later versions dropped them).
 * Each factory takes an options object with optional
 * `parent` (the network to add the new subnetwork to), `label` and `seed`.
 */
export {
  EnsembleArray,
  EnsembleArrayNetwork,
  type EnsembleArrayOptions,
  type EnsembleFunction,
  type AddOutputOptions,
} from './ensemblearray.js';
export { Integrator, IntegratorNetwork, type IntegratorOptions } from './integrator.js';
export { Oscillator, OscillatorNetwork, oscillatorTransform, type OscillatorOptions } from './oscillator.js';
export { Product, ProductNetwork, dotProductTransform, type ProductOptions, type ProductEnsembleParams } from './product.js';
export {
  CircularConvolution,
  CircularConvolutionNetwork,
  circconv,
  dftHalf,
  transformIn,
  transformOut,
  type CircularConvolutionOptions,
} from './circularconvolution.js';
export { type SubnetworkOptions, type EnsembleParams, type NetworkWithoutEnsembleFactory } from './common.js';
export {
  BasalGanglia,
  BasalGangliaNetwork,
  BasalGangliaWeights,
  Thalamus,
  ThalamusNetwork,
  type BasalGangliaOptions,
  type ThalamusOptions,
} from './actionselection.js';
export { InputGatedMemory, InputGatedMemoryNetwork, type InputGatedMemoryOptions } from './workingmemory.js';
export { AssociativeMemory, AssociativeMemoryNetwork, filteredStep, type AssociativeMemoryOptions } from './assocmem.js';

/**
 * nefsim: a Neural Engineering Framework simulator with Nengo's objects,
 * defaults and formulas. Public API.
 */
export { Network, type NetworkOptions, type NetworkConfig } from './engine/network.js';
export {
  Node,
  Ensemble,
  Neurons,
  Connection,
  Probe,
  ObjView,
  LearningRule,
  Dense,
  type DenseOptions,
  Sparse,
  type SparseOptions,
  type NodeOptions,
  type EnsembleOptions,
  type ConnectionOptions,
  type LearningRuleSpec,
  type LearningRuleOf,
  type ProbeOptions,
  type NodeOutput,
  type NodeFunction,
  type ConnectionFunction,
} from './engine/objects.js';
export {
  Convolution,
  ConvolutionTranspose,
  ConvolutionBase,
  type ConvolutionOptions,
  type ConvolutionTransposeOptions,
  type KernelInit,
  type Padding,
} from './engine/convolution.js';
export {
  LIF,
  LIFRate,
  AdaptiveLIF,
  AdaptiveLIFRate,
  RectifiedLinear,
  SpikingRectifiedLinear,
  Sigmoid,
  Tanh,
  Izhikevich,
  RegularSpiking,
  StochasticSpiking,
  PoissonSpiking,
  RatesToSpikes,
  Direct,
  NeuronType,
} from './engine/neurons.js';
export type { AdaptiveLIFOptions, IzhikevichOptions, LIFOptions } from './engine/neurons.js';
export { Synapse, LinearFilter, Lowpass, Alpha, Triangle, type DiscretizeMethod, type FilterOptions } from './engine/synapses.js';
export * from './engine/dists.js';
export {
  Lstsq,
  LstsqL2,
  LstsqL2nz,
  LstsqDrop,
  LstsqL1,
  LstsqNoise,
  LstsqMultNoise,
  Nnls,
  NnlsL2,
  NnlsL2nz,
  NoSolver,
  type Solver,
} from './engine/solvers.js';
export type {
  LstsqOptions,
  LstsqL1Options,
  LstsqL2Options,
  LstsqDropOptions,
  LstsqNoiseOptions,
  NnlsOptions,
  NnlsL2Options,
} from './engine/solvers.js';
export { Process, WhiteNoise, FilteredNoise, BrownNoise, WhiteSignal, Piecewise, PresentInput } from './engine/processes.js';
export { PES, RLS, BCM, Oja, Voja, LearningRuleType } from './engine/learning.js';
export type { PESOptions, RLSOptions, BCMOptions, OjaOptions, VojaOptions } from './engine/learning.js';
export { Simulator, ProbeData, SpikeData, isSpikeProbe, type SimulatorOptions, type SimulationSummary } from './engine/simulator.js';
export { Rng } from './engine/rng.js';
export {
  MemoryDecoderCache,
  TieredDecoderCache,
  defaultDecoderCache,
  type DecoderCache,
  type CachedSolution,
} from './engine/decoder-cache.js';
export { FileDecoderCache } from './engine/decoder-cache-file.js';
export { NefsimError, ValidationError, BuildError, SimulationError } from './engine/errors.js';
export * as networks from './engine/networks/index.js';
export { version } from './version.js';

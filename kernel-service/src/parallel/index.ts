/** Partitioned simulation across worker threads. */
export { PartitionedSimulator, type PartitionedOptions, type PartitionSummary } from './partitioned-simulator.js';
export { partitionModel, type Partitioning, type PartitionOptions } from './partition.js';

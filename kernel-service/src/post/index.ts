/** Post-processing of probe data: decimation for plots, filters, firing rates, tuning curves, errors. */
export { minMaxDecimate, timeRange, type MinMaxSeries } from './decimate.js';
export { filterSeries, filtfiltSeries, type FilterKind } from './filter.js';
export { meanRates, filteredRates, spikeTimes } from './rates.js';
export { tuningCurves, type TuningCurves, type TuningInput, type RateFunction } from './tuning.js';
export { rmse, type Rmse } from './rmse.js';

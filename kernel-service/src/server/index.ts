/** The nefsim service: protocol, sessions, runs, probe data. */
export * from './protocol.js';
export { Service, DEFAULTS, tokenMatches, type ServiceOptions } from './service.js';
export { serveCommand } from './serve.js';

/** The engine's version, recorded with every run. */
export const version = '0.1.0';

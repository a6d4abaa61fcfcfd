// The simulation engine: virtual time, event queue, PRNG, trace and pacing.
export * from './time.js';
export * from './event-queue.js';
export * from './prng.js';
export * from './trace.js';
export * from './engine.js';
export * from './paced.js';

// Built-in guest workloads, written against the guest interface only.
export * from './event-handler.js';
export * from './idle.js';
export * from './cpu-bound.js';
export * from './sleeper.js';
export * from './io-like.js';

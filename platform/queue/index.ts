// The job queue: types.ts (shapes), commands.ts (script arguments and replies), job-queue.ts
// (JobQueue: enqueue, settle, stats, dead letters), dequeue.ts (taking jobs), worker.ts
// (QueueWorker). The Lua scripts are platform/scripts/queue-*.lua.
export * from './types';
export { JobQueue } from './job-queue';
export type { DequeueOptions, Dequeued } from './dequeue';
export { QueueWorker, type HandBack, type JobDone, type JobHandler, type SettledOutcome, type WorkerOptions } from './worker';
export * from './commands';
export * from './results';

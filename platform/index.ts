// The platform client: plain TypeScript over ioredis, with no n8n imports. It plays for
// n8n the role that redis_manager.py plays for the Python services.
export * from './config';
export * from './errors';
export * from './keys';
export * from './scripts';
export * from './connection-pool';
export * from './connection-test';
export * from './codec';

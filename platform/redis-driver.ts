// The single place that imports ioredis. The build (gulpfile.js, task
// `bundleDriver`) replaces the compiled copy of this file with an esbuild bundle
// that inlines ioredis, so the published package has no runtime dependencies.
export { default as Redis, Cluster } from 'ioredis';
export type { RedisOptions, ClusterOptions, ClusterNode, ChainableCommander, Result } from 'ioredis';

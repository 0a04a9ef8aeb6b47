// The single place that imports ioredis. The build (gulpfile.js, task
// `bundleDriver`) replaces the compiled copy of this file with an esbuild bundle
// that inlines ioredis, so the published package has no runtime dependencies.
export { default as Redis, Cluster } from 'ioredis';
export type { RedisOptions, ClusterOptions, ClusterNode, ChainableCommander, Result } from 'ioredis';
// The bundled version, for workarounds that must end when an ioredis upgrade fixes their bug.
export { version as IOREDIS_VERSION } from 'ioredis/package.json';
// ioredis's own key -> slot function (a dependency of ioredis, so the bundle has it already):
// batches group their items with exactly the slots ioredis routes and checks pipelines by.
export { default as clusterKeySlot } from 'cluster-key-slot';

import { Cluster, Redis, type ClusterNode, type ClusterOptions, type RedisOptions } from './redis-driver';
import { scriptCommands } from './scripts';

/**
 * The constructors of every client that runs our scripts (the connection pool's, and the
 * raw clients of tests and the bench). Each client gets the whole script registry through
 * ioredis' `scripts` option when it is created, so nobody installs scripts later and every
 * pipeline made from the client carries them.
 */
export function createRedis(options: RedisOptions): Redis {
	return new Redis(withScripts(options));
}

export function createCluster(nodes: ClusterNode[], options: ClusterOptions): Cluster {
	return new Cluster(nodes, withScripts(options));
}

function withScripts<T extends RedisOptions | ClusterOptions>(options: T): T {
	return { ...options, scripts: scriptCommands() };
}

import type { RedisServerHandle } from './redis-server';

export default async function globalTeardown(): Promise<void> {
	const server = (globalThis as Record<string, unknown>).__MREDIS__ as RedisServerHandle | undefined;
	if (!server) return;
	await server.stop();
	server.cleanup();
}

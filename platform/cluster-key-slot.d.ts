// cluster-key-slot ships no types; it comes with ioredis (see redis-driver.ts).
declare module 'cluster-key-slot' {
	/** The Redis Cluster hash slot (0-16383) of a key, honouring its `{hash tag}`. */
	function calculateSlot(key: string | Buffer): number;
	export = calculateSlot;
}

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { Cluster, Redis } from './redis-driver';

/**
 * Lua scripts are first-class files in platform/scripts/, each one atomic state change,
 * loaded once and installed on every client as a custom command (EVALSHA with a
 * transparent fallback, also inside pipelines).
 */
export interface LuaScript {
	readonly name: string;
	readonly numberOfKeys: number;
	readonly lua: string;
}

const registry = new Map<string, LuaScript>();

export function scriptsDir(): string {
	return join(__dirname, 'scripts');
}

/** Declares a script from `platform/scripts/<file>`; call at module load. */
export function defineScript(name: string, file: string, numberOfKeys: number): LuaScript {
	const existing = registry.get(name);
	if (existing) return existing;
	const script: LuaScript = { name, numberOfKeys, lua: readFileSync(join(scriptsDir(), file), 'utf8') };
	registry.set(name, script);
	return script;
}

export type RedisLike = Redis | Cluster;

/** Installs every declared script on a client, so that pipelines created afterwards carry them. */
export function installScripts(client: RedisLike): void {
	for (const script of registry.values()) {
		if (typeof (client as unknown as Record<string, unknown>)[script.name] === 'function') continue;
		client.defineCommand(script.name, { numberOfKeys: script.numberOfKeys, lua: script.lua });
	}
}

type ScriptCall = (...args: Array<string | number | Buffer>) => Promise<unknown>;

/** Runs a script directly on a client (outside a pipeline). */
export async function runScript(
	client: RedisLike,
	script: LuaScript,
	keys: string[],
	args: Array<string | number>,
): Promise<unknown> {
	installScripts(client);
	const fn = (client as unknown as Record<string, ScriptCall>)[script.name];
	return fn.call(client, ...keys, ...args);
}

/** Queues a script call on a pipeline; the client must have had installScripts() first. */
export function queueScript(
	pipeline: unknown,
	script: LuaScript,
	keys: string[],
	args: Array<string | number>,
): void {
	const fn = (pipeline as Record<string, (...a: Array<string | number>) => unknown>)[script.name];
	if (typeof fn !== 'function') {
		throw new Error(`Script ${script.name} was not installed on the client before the pipeline was made`);
	}
	fn.call(pipeline, ...keys, ...args);
}

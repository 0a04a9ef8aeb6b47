import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';

import { REPO_ROOT } from '../helpers/redis-server';

// This machine cannot run Docker, so the compose file's promises are checked by parsing it.
interface Service {
	image: string;
	command?: string | string[];
	environment?: Record<string, string>;
	volumes?: string[];
	ports?: string[];
	healthcheck?: { test: string[] | string };
	depends_on?: Record<string, { condition: string }>;
}

const compose = load(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8')) as {
	services: Record<string, Service>;
	volumes: Record<string, unknown>;
};
const { redis, n8n } = compose.services;

describe('docker-compose.yml', () => {
	it('pins the official Redis image to an exact version', () => {
		expect(redis.image).toMatch(/^redis:\d+\.\d+\.\d+(-[a-z0-9]+)?$/);
	});

	it('mounts our redis.conf and starts redis-server with it', () => {
		expect(redis.volumes).toContainEqual(expect.stringMatching(/^\.\/redis\.conf:\/usr\/local\/etc\/redis\/redis\.conf(:ro)?$/));
		expect([redis.command].flat().join(' ')).toContain('redis-server /usr/local/etc/redis/redis.conf');
	});

	it('takes the password from .env, not from a literal', () => {
		expect([redis.command].flat().join(' ')).toContain('--requirepass "$$REDIS_PASSWORD"');
		expect(redis.environment?.REDIS_PASSWORD).toMatch(/^\$\{REDIS_PASSWORD[:?}]/);
		expect(readFileSync(join(REPO_ROOT, '.env.example'), 'utf8')).toMatch(/^REDIS_PASSWORD=/m);
	});

	it('has a health check that authenticates and PINGs', () => {
		expect([redis.healthcheck?.test].flat().join(' ')).toMatch(/redis-cli.*REDIS_PASSWORD.*ping/i);
	});

	it('keeps data in a named volume', () => {
		expect(redis.volumes).toContainEqual(expect.stringMatching(/^[a-z-]+:\/data$/));
		const volumeName = redis.volumes!.find((v) => v.endsWith(':/data'))!.split(':')[0];
		expect(compose.volumes).toHaveProperty(volumeName);
	});

	it('binds every published port to 127.0.0.1 only', () => {
		for (const service of [redis, n8n]) {
			expect(service.ports?.length).toBeGreaterThan(0);
			for (const port of service.ports ?? []) expect(port).toMatch(/^127\.0\.0\.1:/);
		}
	});

	it('pins the official n8n image and loads this package where community packages live', () => {
		expect(n8n.image).toMatch(/^n8nio\/n8n:\d+\.\d+\.\d+$/);
		const root = '/home/node/.n8n/nodes/node_modules/n8n-nodes-marketing-redis';
		expect(n8n.volumes).toContain(`./dist:${root}/dist:ro`);
		expect(n8n.volumes).toContain(`./package.json:${root}/package.json:ro`);
	});

	it('starts n8n only after Redis is healthy', () => {
		expect(n8n.depends_on?.redis?.condition).toBe('service_healthy');
	});
});

import type { ICredentialDataDecryptedObject, ICredentialTestFunctions } from 'n8n-workflow';

import { configFromCredentials } from '../../nodes/shared/credentials';
import { marketingRedisConnectionTest } from '../../nodes/shared/connection-test';
import { clusterOptions, redisOptions } from '../../platform/client-options';
import { sharedPool } from '../../platform/connection-pool';
import { closeRawClients, testCredentials } from '../helpers/redis';
import { freePort } from '../helpers/redis-server';
import {
	startClusterTopology,
	startSentinelTopology,
	type ClusterTopology,
	type SentinelTopology,
} from '../helpers/topology';

let sentinel: SentinelTopology;
let cluster: ClusterTopology;

beforeAll(async () => {
	[sentinel, cluster] = await Promise.all([startSentinelTopology(), startClusterTopology()]);
}, 60_000);

afterAll(async () => {
	await sharedPool.closeAll();
	await closeRawClients();
	await Promise.all([sentinel?.stop(), cluster?.stop()]);
});

async function credentialTest(data: Record<string, unknown>) {
	return marketingRedisConnectionTest.call({} as ICredentialTestFunctions, {
		id: 'c1',
		name: 'Test',
		type: 'marketingRedisApi',
		data: data as ICredentialDataDecryptedObject,
	});
}

function expectNoSecrets(message: string, ...secrets: string[]) {
	for (const s of secrets) expect(message).not.toContain(s);
}

describe('Credential test in every connection mode', () => {
	it('standalone: connects and selects every mapped DB', async () => {
		const result = await credentialTest(testCredentials());
		expect(result).toMatchObject({ status: 'OK' });
		expect(result.message).toMatch(/PING and SELECT of DB 0, 1, 2, 3, 4 succeeded/);
	});

	it('sentinel: finds the master through the sentinels, authenticating to both', async () => {
		const result = await credentialTest(sentinel.credentials());
		expect(result.status).toBe('OK');
		expect(result.message).toMatch(/master "mymaster" via Sentinel/);
		expectNoSecrets(result.message, sentinel.password, sentinel.sentinelPassword);
	});

	it('sentinel: a wrong sentinel password is reported without leaking it', async () => {
		const result = await credentialTest(sentinel.credentials({ sentinelPassword: 'not-the-sentinel-pass' }));
		expect(result.status).toBe('Error');
		expect(result.message).toMatch(/sentinels rejected the sentinel password/);
		expectNoSecrets(result.message, 'not-the-sentinel-pass', sentinel.password);
	});

	it('sentinel: an unknown master name is reported', async () => {
		const result = await credentialTest(sentinel.credentials({ masterName: 'nosuchmaster' }));
		expect(result.status).toBe('Error');
		expect(result.message).toMatch(/do not monitor a master named "nosuchmaster"/);
	});

	it('sentinel: a wrong data-node password is reported as such', async () => {
		const result = await credentialTest(sentinel.credentials({ password: 'wrong-data-pass' }));
		expect(result.status).toBe('Error');
		expect(result.message).toMatch(/rejected the username or password/);
		expectNoSecrets(result.message, 'wrong-data-pass', sentinel.sentinelPassword);
	});

	it('sentinel: no reachable sentinel is reported within the budget', async () => {
		const port = await freePort();
		const result = await credentialTest(sentinel.credentials({ sentinels: `127.0.0.1:${port}` }));
		expect(result.status).toBe('Error');
		expect(result.message).toMatch(/No sentinel answered: Connection refused/);
	});

	it('sentinel: an empty sentinel list is rejected as invalid', async () => {
		const result = await credentialTest(sentinel.credentials({ sentinels: '' }));
		expect(result.status).toBe('Error');
		expect(result.message).toMatch(/No sentinels are set/);
	});

	it('cluster: connects and reports the masters and that the DB mapping is ignored', async () => {
		const result = await credentialTest(cluster.credentials({ sessionDb: 7, queueDb: 9 }));
		expect(result.status).toBe('OK');
		expect(result.message).toMatch(/3 master node\(s\)/);
		expect(result.message).toMatch(/DB mapping ignored/);
	});

	it('cluster: one reachable seed node is enough', async () => {
		const dead = await freePort();
		const result = await credentialTest(
			cluster.credentials({ clusterNodes: `127.0.0.1:${dead}, 127.0.0.1:${cluster.nodes[1].port}` }),
		);
		expect(result.status).toBe('OK');
	});

	it('cluster: a wrong password is reported without leaking it', async () => {
		const result = await credentialTest(cluster.credentials({ password: 'wrong-cluster-pass' }));
		expect(result.status).toBe('Error');
		expect(result.message).toMatch(/rejected the username or password/);
		expectNoSecrets(result.message, 'wrong-cluster-pass', cluster.password);
	});

	it('cluster: unreachable seed nodes are reported', async () => {
		const result = await credentialTest(cluster.credentials({ clusterNodes: `127.0.0.1:${await freePort()}` }));
		expect(result.status).toBe('Error');
		expect(result.message).toMatch(/Connection refused/);
	});

	it('cluster: an empty node list is rejected as invalid', async () => {
		const result = await credentialTest(cluster.credentials({ clusterNodes: '' }));
		expect(result.status).toBe('Error');
		expect(result.message).toMatch(/No cluster nodes are set/);
	});

	it('cluster: pointing Cluster mode at a standalone server is explained', async () => {
		const s = testCredentials();
		const result = await credentialTest(
			cluster.credentials({ clusterNodes: `${String(s.host)}:${String(s.port)}`, password: s.password }),
		);
		expect(result.status).toBe('Error');
		expect(result.message).toMatch(/without cluster support, not a cluster node.*Use Standalone mode/);
	});

	it('with TLS, Sentinel and Cluster connections verify each node by its own address, not the hidden Host field', () => {
		const sentinelConfig = configFromCredentials({ ...sentinel.credentials(), tls: true, host: 'leftover.example' });
		const options = redisOptions(sentinelConfig, 0, 'shared');
		expect(options.tls).toBeDefined();
		expect(options.tls?.servername).toBeUndefined();
		expect(options.enableTLSForSentinelMode).toBe(true);
		const clusterConfig = configFromCredentials({ ...cluster.credentials(), tls: true, host: 'leftover.example' });
		const nodeOptions = clusterOptions(clusterConfig, 'shared').redisOptions;
		expect(nodeOptions?.tls).toBeDefined();
		expect(nodeOptions?.tls?.servername).toBeUndefined();
	});
});

import type { IDataObject } from 'n8n-workflow';

import { DB_ROLES, dbFor, type DbRole } from '../../../../platform/config';
import { readHealth } from '../../../../platform/health';
import type { Operation } from '../../../shared/operation';

export const serverOperations: Record<string, Operation> = {
	health: {
		// Sequential, because SLOWLOG and CONFIG may be refused by the ACL: their errors must
		// degrade the report, whereas a pipelined item fails on any error reply.
		kind: 'sequential',
		role: 'default',
		action: 'Check Redis Health',
		async run(p, env) {
			const slowLogCount = p.integerOr('healthOptions.slowLogCount', 'Slow Log Entries', 10, { min: 0, max: 1000 });
			const memoryWarnPercent = p.integerOr('healthOptions.memoryWarnPercent', 'Memory Warning (%)', 90, { max: 100 });
			const dbs = Object.fromEntries(DB_ROLES.map((role) => [role, dbFor(env.config, role)])) as Record<DbRole, number>;
			const report = await readHealth(env.client('default'), { slowLogCount, dbs, memoryWarnPercent });
			return { json: report as unknown as IDataObject };
		},
	},
};

// The parts of n8n's internal REST API the suite needs: the owner account, node types and executions.
export const OWNER = { email: 'e2e-owner@example.com', firstName: 'E2E', lastName: 'Owner', password: 'E2e-owner-Passw0rd' };

export class N8nRest {
	cookie = '';

	constructor(readonly url: string) {}

	private async call(method: string, path: string, body?: unknown): Promise<Response> {
		const res = await fetch(`${this.url}${path}`, {
			method,
			headers: { 'content-type': 'application/json', ...(this.cookie ? { cookie: this.cookie } : {}) },
			body: body === undefined ? undefined : JSON.stringify(body),
			signal: AbortSignal.timeout(30_000),
		});
		const setCookie = res.headers.get('set-cookie');
		const auth = setCookie?.match(/n8n-auth=[^;]+/)?.[0];
		if (auth) this.cookie = auth;
		return res;
	}

	async json<T>(method: string, path: string, body?: unknown): Promise<T> {
		const res = await this.call(method, path, body);
		const text = await res.text();
		if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text.slice(0, 300)}`);
		return JSON.parse(text) as T;
	}

	/** Creates the owner on a fresh instance (which also logs in), or logs in when it exists. */
	async signIn(): Promise<void> {
		const res = await this.call('POST', '/rest/owner/setup', OWNER);
		if (res.ok && this.cookie) return;
		await this.json('POST', '/rest/login', { emailOrLdapLoginId: OWNER.email, password: OWNER.password });
		if (!this.cookie) throw new Error('login gave no n8n-auth cookie');
	}

	/** Names of every node type the editor offers. */
	async nodeTypeNames(): Promise<string[]> {
		const types = await this.json<Array<{ name: string }>>('GET', '/types/nodes.json');
		return types.map((t) => t.name);
	}

	async nodeType(name: string): Promise<Record<string, unknown> | undefined> {
		const types = await this.json<Array<Record<string, unknown>>>('GET', '/types/nodes.json');
		return types.find((t) => t.name === name);
	}

	async executions(workflowId: string): Promise<Array<{ id: string; status: string; mode: string }>> {
		const filter = encodeURIComponent(JSON.stringify({ workflowId }));
		const body = await this.json<{ data: { results: Array<{ id: string; status: string; mode: string }> } }>(
			'GET',
			`/rest/executions?filter=${filter}&limit=100`,
		);
		return body.data.results;
	}

	async activeWorkflowIds(): Promise<string[]> {
		const body = await this.json<{ data: string[] }>('GET', '/rest/active-workflows');
		return body.data;
	}
}

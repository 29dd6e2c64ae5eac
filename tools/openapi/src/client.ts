// A renter API client typed by openapi-typescript from the committed
// OpenAPI document (src/schema.ts, made by `npm run gen`), with
// openapi-fetch. It allocates a miner, finds the allocation in the list,
// deallocates it and checks it is gone; it prints one JSON line and sets
// exit code 1 on any unexpected answer.
//
// Environment: SN27_API_URL (https://host:port), SN27_API_KEY (a bearer
// key), SN27_HOTKEY (the miner to allocate). NODE_EXTRA_CA_CERTS names the
// CA of the API's certificate when it is not a public one.
import createClient from "openapi-fetch";
import type { paths } from "./schema.js";

function env(name: string): string {
  const v = process.env[name];
  if (!v) {
    throw new Error(`${name} is not set`);
  }
  return v;
}

async function main(): Promise<Record<string, unknown>> {
  const hotkey = env("SN27_HOTKEY");
  const client = createClient<paths>({
    baseUrl: env("SN27_API_URL"),
    headers: { Authorization: `Bearer ${env("SN27_API_KEY")}` },
  });

  const alloc = await client.POST("/service/allocate_hotkey", {
    params: { header: { "Idempotency-Key": crypto.randomUUID() } },
    body: { hotkey, timeline: 60 },
  });
  if (alloc.error !== undefined || alloc.data === undefined) {
    throw new Error(`allocate_hotkey: ${alloc.response.status} ${JSON.stringify(alloc.error)}`);
  }
  if (alloc.data.hotkey !== hotkey) {
    throw new Error(`allocate_hotkey allocated ${alloc.data.hotkey}; want ${hotkey}`);
  }

  const listed = await allocations(client);
  const mine = listed.find((a) => a.hotkey === hotkey);
  if (mine === undefined) {
    throw new Error(`allocations_sql lacks ${hotkey}: ${JSON.stringify(listed)}`);
  }

  const dealloc = await client.POST("/service/deallocate", { body: { hotkey } });
  if (dealloc.error !== undefined || dealloc.data === undefined) {
    throw new Error(`deallocate: ${dealloc.response.status} ${JSON.stringify(dealloc.error)}`);
  }
  if (dealloc.data.hotkey !== hotkey || dealloc.data.deallocated !== true) {
    throw new Error(`deallocate answered ${JSON.stringify(dealloc.data)}`);
  }
  const after = await allocations(client);
  if (after.some((a) => a.hotkey === hotkey)) {
    throw new Error(`allocations_sql still lists ${hotkey} after deallocate`);
  }
  return { ok: true, hotkey, host: alloc.data.host, port: alloc.data.port, listed: listed.length, after: after.length };
}

type Client = ReturnType<typeof createClient<paths>>;

async function allocations(client: Client) {
  const r = await client.POST("/list/allocations_sql", { body: {} });
  if (r.error !== undefined || r.data === undefined) {
    throw new Error(`allocations_sql: ${r.response.status} ${JSON.stringify(r.error)}`);
  }
  return r.data.allocations ?? [];
}

try {
  console.log(JSON.stringify(await main()));
} catch (err) {
  console.log(JSON.stringify({ ok: false, error: err instanceof Error ? err.message : String(err) }));
  process.exitCode = 1;
}

import { Pool } from 'undici';
import { readFileSync } from 'node:fs';
const body = readFileSync('/tmp/body.json', 'utf8');
async function run(url: string, n: number) {
  const pool = new Pool(url, { connections: 1 });
  const t: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = process.hrtime.bigint();
    const r = await pool.request({ path: '/v1/chat/completions', method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer k' }, body });
    await r.body.text();
    t.push(Number(process.hrtime.bigint() - s) / 1000);
    if (i % 10 === 0) await new Promise((r) => setImmediate(r));
  }
  await pool.close();
  t.sort((a, b) => a - b);
  return t[n >> 1]!.toFixed(1);
}
await run('http://127.0.0.1:9301', 5000); await run('http://127.0.0.1:9302', 5000);
for (let k = 0; k < 3; k++) console.log('mock p50 µs', await run('http://127.0.0.1:9301', 10000), ' bare uWS p50 µs', await run('http://127.0.0.1:9302', 10000));

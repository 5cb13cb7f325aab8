// What a user writes by hand: node:http server + global fetch, streaming the body back.
// `tsx bench/peers/node-http.ts PORT UPSTREAM_ORIGIN`.
import { createServer } from 'node:http';
import { Readable } from 'node:stream';

const [port = '8092', upstream = 'http://127.0.0.1:9101'] = process.argv.slice(2);

createServer(async (req, res) => {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  try {
    const r = await fetch(upstream + (req.url ?? '/'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: req.headers.authorization ?? '' },
      body: Buffer.concat(chunks),
    });
    res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' });
    if (r.body) Readable.fromWeb(r.body as import('node:stream/web').ReadableStream).pipe(res);
    else res.end();
  } catch {
    res.writeHead(502).end('{"error":{"message":"upstream"}}');
  }
}).listen(Number(port), '127.0.0.1', () => process.stdout.write(`node-http listening on ${port}\n`));

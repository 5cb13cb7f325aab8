import uWS from 'uWebSockets.js';
const fixed = JSON.stringify({ id: 'x', object: 'chat.completion', choices: [{ message: { content: 'y'.repeat(200) } }] });
const v = process.argv[2];
uWS.App().post('/*', (res, req) => {
  let h: Record<string, string> | null = null;
  if (v === 'foreach' || v === 'all') { h = {}; req.forEach((k, val) => { h![k] = val; }); }
  res.onAborted(() => {});
  res.onData((ab, last) => { if (last) { const s = Buffer.from(ab).toString();
    if (v === 'parse' || v === 'all') JSON.parse(s);
    res.writeStatus('200 OK').writeHeader('content-type', 'application/json').end(fixed); } });
}).listen('127.0.0.1', 9302, () => console.log('ready'));

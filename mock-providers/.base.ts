import uWS from 'uWebSockets.js';
const fixed = JSON.stringify({ id: 'x', object: 'chat.completion', choices: [{ message: { content: 'y'.repeat(200) } }] });
uWS.App().post('/*', (res) => { res.onAborted(() => {}); res.onData((ab, last) => { if (last) { Buffer.from(ab).toString(); res.writeStatus('200 OK').writeHeader('content-type', 'application/json').end(fixed); } }); }).listen('127.0.0.1', 9302, () => {});

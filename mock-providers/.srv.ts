import { startMock } from './index.ts';
const m = await startMock({}, { port: 9301 });
process.on('SIGINT', async () => { await m.close(); process.exit(0); });

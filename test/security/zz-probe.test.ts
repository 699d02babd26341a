import { it } from 'vitest';
import { connect } from '../../client/connect.js';
it('probe', async () => { console.log('WS1', typeof (globalThis as any).WebSocket); try { await connect({ url: 'http://127.0.0.1:1', token: 'x' }); } catch (e) { console.log('ERR', String(e)); } console.log('WS2', typeof (globalThis as any).WebSocket); });

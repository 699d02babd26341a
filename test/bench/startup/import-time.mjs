// Prints how long `import 'flotilla'` (the built library) takes in a fresh process, in ms.
const t0 = performance.now();
await import('../../../dist/client/index.js');
console.log(JSON.stringify({ importMs: performance.now() - t0 }));

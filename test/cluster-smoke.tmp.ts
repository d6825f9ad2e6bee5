import { startClusterRig } from './helpers/cluster-rig.js';
const t0 = Date.now();
const rig = await startClusterRig();
console.log('up in', Date.now() - t0, rig.ports);
const loop = rig.clientLoop();
await new Promise((r) => setTimeout(r, 2000));
console.log(await loop.stop());
console.log(rig.haproxyLog().slice(-1500));
await rig.stop();

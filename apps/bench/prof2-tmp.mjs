import { nn, randn, scope, useDeterministicAlgorithms } from "lockstep";
const F = nn.functional;
useDeterministicAlgorithms(true);
const x = randn([8, 64, 32, 32]);
const padded = F.pad(x, [1,1,1,1]);
const win = padded.unfold(2,3,1).unfold(3,3,1);
for (let i=0;i<5;i++){ const t0=performance.now(); scope(()=>{win.permute([0,1,4,5,2,3]).reshape([8,1,576,1024]).dataSync();}); console.log((performance.now()-t0).toFixed(1)); }

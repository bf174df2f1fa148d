import { nn, randn, scope, useDeterministicAlgorithms } from "lockstep";
const F = nn.functional;
useDeterministicAlgorithms(true);
const x = randn([8, 64, 32, 32]);
const w = randn([64, 64, 3, 3]);
function t(name, f) { const ts=[]; for (let i=0;i<7;i++){const t0=performance.now(); scope(()=>{f().dataSync();}); ts.push(performance.now()-t0);} ts.sort((a,b)=>a-b); console.log(name, ts[3].toFixed(2)); }
const padded = F.pad(x, [1,1,1,1]);
t("pad", () => F.pad(x, [1,1,1,1]));
const win = padded.unfold(2,3,1).unfold(3,3,1);
t("cols copy", () => win.permute([0,1,4,5,2,3]).reshape([8,1,576,1024]));
const cols = win.permute([0,1,4,5,2,3]).reshape([8,1,576,1024]);
const wr = w.reshape([1,64,576]);
t("matmul", () => wr.matmul(cols));
const a = randn([64,576]); const b = randn([576, 8192]);
t("matmul 2d 64x576x8192", () => a.matmul(b));

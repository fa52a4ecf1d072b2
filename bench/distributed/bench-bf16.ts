/**
 * Time per call of the bfloat16 conversions (worker/src/distributed/bf16.ts, SIMD and the JavaScript
 * reference loops) on a 45 MB gradient, next to the float32 SIMD add of the float32 all-reduce measured in
 * the same run (the reference: compare ratios, not absolute times, on a shared machine).
 *
 *   npx tsx bench/distributed/bench-bf16.ts
 */
import {
  addFromBf16,
  addFromBf16Js,
  copyFromBf16,
  copyFromBf16Js,
  roundToBf16InPlace,
  roundToBf16InPlaceJs,
  toBf16,
  toBf16Js,
} from '../../worker/src/distributed/bf16.ts';
import { addInto } from '../../worker/src/distributed/simd-reduce.ts';

const n = 11_250_000; // 45 MB of float32
const a = Float32Array.from({ length: n }, (_, i) => Math.sin(i));
const b = a.slice();
const h = new Uint16Array(n);
toBf16(b, h);

/** Median of 5 timed calls after one warm-up, ms. */
function time(f: () => void): number {
  f();
  const t: number[] = [];
  for (let k = 0; k < 5; k++) {
    const t0 = performance.now();
    f();
    t.push(performance.now() - t0);
  }
  return t.sort((x, y) => x - y)[2];
}

const ref = time(() => addInto(a, b));
const rows: [string, () => void, () => void][] = [
  ['toBf16', () => toBf16(b, h), () => toBf16Js(b, h)],
  ['addFromBf16', () => addFromBf16(a, h), () => addFromBf16Js(a, h)],
  ['copyFromBf16', () => copyFromBf16(a, h), () => copyFromBf16Js(a, h)],
  ['roundToBf16InPlace', () => roundToBf16InPlace(a), () => roundToBf16InPlaceJs(a)],
];
console.log(`float32 SIMD addInto (reference): ${ref.toFixed(1)} ms for ${n} elements`);
for (const [name, simd, js] of rows) {
  const s = time(simd);
  const j = time(js);
  console.log(
    `${name}: SIMD ${s.toFixed(1)} ms (${(s / ref).toFixed(2)}x ref), JS ${j.toFixed(1)} ms (${(j / ref).toFixed(2)}x ref)`,
  );
}

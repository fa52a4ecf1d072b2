/**
 * WebAssembly text of single-pass parameter updates over float32 arrays (SIMD, then a scalar tail).
 */

/** Instructions of one lane width: 4 floats per v128, or 1 f32. */
interface Lanes {
  /** The element(s) at byte offset $i of the array at param `ptr`. */
  load(ptr: string): string;
  store(ptr: string, value: string): string;
  op(name: 'add' | 'sub' | 'mul', a: string, b: string): string;
  /** The f32 param `name`, as this width needs it. */
  k(name: string): string;
  /** A scratch local of this width. */
  tmp: string;
}

const at = (ptr: string) => `(i32.add (local.get ${ptr}) (local.get $i))`;
const VEC: Lanes = {
  load: (ptr) => `(v128.load ${at(ptr)})`,
  store: (ptr, value) => `(v128.store ${at(ptr)} ${value})`,
  op: (name, a, b) => `(f32x4.${name} ${a} ${b})`,
  k: (name) => `(f32x4.splat (local.get ${name}))`,
  tmp: '$t4',
};
const SCALAR: Lanes = {
  load: (ptr) => `(f32.load ${at(ptr)})`,
  store: (ptr, value) => `(f32.store ${at(ptr)} ${value})`,
  op: (name, a, b) => `(f32.${name} ${a} ${b})`,
  k: (name) => `(local.get ${name})`,
  tmp: '$t1',
};

/**
 * A function over n float32 elements (last param $n): `body` runs 4 elements per SIMD step, then one at a
 * time for the rest, with $i the byte offset of the current element(s) in every array.
 */
function elementwise(name: string, params: string, body: (l: Lanes) => string[]): string {
  return `
  (func (export "${name}") ${params} (param $n i32)
    (local $i i32) (local $end i32) (local $vecEnd i32) (local $t4 v128) (local $t1 f32)
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $vecEnd (i32.and (local.get $end) (i32.const -16)))
    (block $vecDone (loop $vecLoop
      (br_if $vecDone (i32.ge_u (local.get $i) (local.get $vecEnd)))
      ${body(VEC).join('\n      ')}
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $vecLoop)))
    (block $done (loop $tail
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      ${body(SCALAR).join('\n      ')}
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $tail)))
  )`;
}

/**
 * sgd_momentum(w, g, buf, wd, momentum, lr, wOut, bufOut, n) and sgd_momentum_nodecay (wd ignored): one
 * SGD step with momentum in a single pass, float32 operation for operation as the tf ops of
 * worker/src/train/sgd.ts (so bit-identical): g' = g + w * wd; buf' = buf * momentum + g';
 * w' = w - buf' * lr.
 */
export function sgdMomentum(decay: boolean): string {
  return elementwise(
    decay ? 'sgd_momentum' : 'sgd_momentum_nodecay',
    '(param $w i32) (param $g i32) (param $buf i32) (param $wd f32) (param $momentum f32) (param $lr f32) (param $wOut i32) (param $bufOut i32)',
    (l) => {
      const g = decay ? l.op('add', l.load('$g'), l.op('mul', l.load('$w'), l.k('$wd'))) : l.load('$g');
      return [
        `(local.set ${l.tmp} ${l.op('add', l.op('mul', l.load('$buf'), l.k('$momentum')), g)})`,
        l.store('$bufOut', `(local.get ${l.tmp})`),
        l.store('$wOut', l.op('sub', l.load('$w'), l.op('mul', `(local.get ${l.tmp})`, l.k('$lr')))),
      ];
    },
  );
}

/**
 * axpby(a, b, alpha, beta, out, n): out = a * alpha + b * beta in float32 (the key encoder's momentum
 * update theta_k m + theta_q (1 - m), bit-identical to tf.add(tf.mul(a, alpha), tf.mul(b, beta))).
 */
export function axpby(): string {
  return elementwise(
    'axpby',
    '(param $a i32) (param $b i32) (param $alpha f32) (param $beta f32) (param $out i32)',
    (l) => [
      l.store(
        '$out',
        l.op('add', l.op('mul', l.load('$a'), l.k('$alpha')), l.op('mul', l.load('$b'), l.k('$beta'))),
      ),
    ],
  );
}

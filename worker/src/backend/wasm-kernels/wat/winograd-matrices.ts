/**
 * The Winograd F(4x4, 3x3) matrices as SIMD code: each function maps one column of values (named v128
 * locals) to the column times the matrix, with shared subexpressions (Lavin and Gray, "Fast Algorithms for
 * Convolutional Neural Networks", points 0, 1, -1, 2, -2, inf):
 *   B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
 *   G   = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]
 *   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
 */
import type { Block } from './block.ts';

/** B^T d for one column d (6 values -> 6), with shared subexpressions. */
export function inputRows(b: Block, d: string[]): string[] {
  const [d0, d1, d2, d3, d4, d5] = d;
  const a = b.sub(d4, b.scale(d2, 4)); // d4 - 4 d2
  const c = b.sub(d3, b.scale(d1, 4)); // d3 - 4 d1
  const e = b.sub(d4, d2);
  const f = b.scale(b.sub(d3, d1), 2);
  return [
    b.add(b.scale(b.sub(d0, d2), 4), e), // 4 d0 - 5 d2 + d4
    b.add(a, c), // -4 d1 - 4 d2 + d3 + d4
    b.sub(a, c), // 4 d1 - 4 d2 - d3 + d4
    b.add(e, f), // -2 d1 - d2 + 2 d3 + d4
    b.sub(e, f), // 2 d1 - d2 - 2 d3 + d4
    b.add(b.scale(b.sub(d1, d3), 4), b.sub(d5, d3)), // 4 d1 - 5 d3 + d5
  ];
}

/** A^T m for one column m (6 values -> 4). */
export function outputRows(b: Block, m: string[]): string[] {
  const [m0, m1, m2, m3, m4, m5] = m;
  const s12 = b.add(m1, m2);
  const d12 = b.sub(m1, m2);
  const s34 = b.add(m3, m4);
  const d34 = b.sub(m3, m4);
  return [
    b.add(b.add(m0, s12), s34),
    b.add(d12, b.scale(d34, 2)),
    b.add(s12, b.scale(s34, 4)),
    b.add(b.add(d12, b.scale(d34, 8)), m5),
  ];
}

/** G g for one column g (3 values -> 6). */
export function filterRows(b: Block, g: string[]): string[] {
  const [g0, g1, g2] = g;
  const s02 = b.add(g0, g2);
  const p = b.add(s02, g1);
  const q = b.sub(s02, g1);
  const g0g2 = b.add(g0, b.scale(g2, 4)); // g0 + 4 g2
  const g1x2 = b.scale(g1, 2);
  return [
    b.scale(g0, 1 / 4),
    b.scale(p, -1 / 6),
    b.scale(q, -1 / 6),
    b.scale(b.add(g0g2, g1x2), 1 / 24),
    b.scale(b.sub(g0g2, g1x2), 1 / 24),
    g2,
  ];
}

/** A e for one column e of a dy tile (4 values -> 6): A = [1 0 0 0; 1 1 1 1; 1 -1 1 -1; 1 2 4 8; 1 -2 4 -8; 0 0 0 1]. */
export function gradRows(b: Block, e: string[]): string[] {
  const [e0, e1, e2, e3] = e;
  const s02 = b.add(e0, e2);
  const s13 = b.add(e1, e3);
  const q02 = b.add(e0, b.scale(e2, 4)); // e0 + 4 e2
  const q13 = b.scale(b.add(e1, b.scale(e3, 4)), 2); // 2 e1 + 8 e3
  return [e0, b.add(s02, s13), b.sub(s02, s13), b.add(q02, q13), b.sub(q02, q13), e3];
}

/** G^T z for one column z (6 values -> 3). */
export function filterGradRows(b: Block, z: string[]): string[] {
  const [z0, z1, z2, z3, z4, z5] = z;
  const s12 = b.scale(b.add(z1, z2), -1 / 6);
  const s34 = b.add(z3, z4);
  return [
    b.add(b.add(b.scale(z0, 1 / 4), s12), b.scale(s34, 1 / 24)),
    b.add(b.scale(b.sub(z1, z2), -1 / 6), b.scale(b.sub(z3, z4), 1 / 12)),
    b.add(b.add(s12, b.scale(s34, 1 / 6)), z5),
  ];
}

/*
 * Stride 2 (../winograd-s2.ts): the 3x3 filter splits into its even and odd taps per axis, and the even pair
 * (taps 0 and 2) runs F(4, 2) on the even input samples. Points 0, 1, -1, 2, inf, with the fractions of
 * B^T moved into G:
 *   B^T = [2 -1 -2 1 0; 0 2 1 -1 0; 0 -2 3 -1 0; 0 -1 0 1 0; 0 2 -1 -2 1]
 *   G   = [1/2 0; 1/2 1/2; 1/6 -1/6; 1/6 1/3; 0 1]
 *   A^T = [1 1 1 1 0; 0 1 -1 2 0; 0 1 1 4 0; 0 1 -1 8 1]
 */

/** B^T d for F(4, 2) (5 values -> 5). */
export function s2InputRows(b: Block, d: string[]): string[] {
  const [d0, d1, d2, d3, d4] = d;
  const m13 = b.sub(d1, d3); // d1 - d3
  const x2 = b.scale(b.sub(d0, d2), 2); // 2 d0 - 2 d2
  return [
    b.sub(x2, m13), // 2 d0 - d1 - 2 d2 + d3
    b.add(b.add(d1, m13), d2), // 2 d1 + d2 - d3
    b.sub(b.scale(d2, 3), b.add(b.add(d1, d1), d3)), // -2 d1 + 3 d2 - d3
    b.neg(m13), // -d1 + d3
    b.add(b.sub(b.scale(m13, 2), d2), d4), // 2 d1 - d2 - 2 d3 + d4
  ];
}

/** G g for F(4, 2) (2 values -> 5). */
export function s2FilterRows(b: Block, g: string[]): string[] {
  const [g0, g1] = g;
  return [
    b.scale(g0, 1 / 2),
    b.scale(b.add(g0, g1), 1 / 2),
    b.scale(b.sub(g0, g1), 1 / 6),
    b.scale(b.add(g0, b.add(g1, g1)), 1 / 6),
    g1,
  ];
}

/** A^T m for F(4, 2) (5 values -> 4). */
export function s2OutputRows(b: Block, m: string[]): string[] {
  const [m0, m1, m2, m3, m4] = m;
  const s12 = b.add(m1, m2);
  const d12 = b.sub(m1, m2);
  return [
    b.add(b.add(m0, s12), m3),
    b.add(d12, b.scale(m3, 2)),
    b.add(s12, b.scale(m3, 4)),
    b.add(b.add(d12, b.scale(m3, 8)), m4),
  ];
}

/** A e for F(4, 2) (4 values -> 5): A = [1 0 0 0; 1 1 1 1; 1 -1 1 -1; 1 2 4 8; 0 0 0 1]. */
export function s2GradRows(b: Block, e: string[]): string[] {
  const [e0, e1, e2, e3] = e;
  const s02 = b.add(e0, e2);
  const s13 = b.add(e1, e3);
  const q = b.add(b.add(e0, b.scale(e1, 2)), b.add(b.scale(e2, 4), b.scale(e3, 8)));
  return [e0, b.add(s02, s13), b.sub(s02, s13), q, e3];
}

/** G^T z for F(4, 2) (5 values -> 2). */
export function s2FilterGradRows(b: Block, z: string[]): string[] {
  const [z0, z1, z2, z3, z4] = z;
  const h = b.scale(b.add(z0, z1), 1 / 2);
  return [
    b.add(h, b.scale(b.add(z2, z3), 1 / 6)),
    b.add(b.add(b.scale(z1, 1 / 2), b.scale(b.sub(z3, z2), 1 / 6)), b.add(b.scale(z3, 1 / 6), z4)),
  ];
}

/** A one-line progress bar for terminals: epoch, step, loss, contrast accuracy, img/s, ETA. */
import type { ProgressEvent } from '../train/trainer.ts';

export function formatProgress(p: ProgressEvent, width = 24): string {
  const frac = p.globalStep / p.totalSteps;
  const filled = Math.round(frac * width);
  const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
  return (
    `[${bar}] ${(frac * 100).toFixed(0).padStart(3)}% ` +
    `epoch ${p.epoch + 1}/${p.epochs} step ${p.step}/${p.stepsPerEpoch} ` +
    `loss ${p.loss.toFixed(3)} (cls ${p.lossCls.toFixed(3)} jcl ${p.lossJcl.toFixed(3)}) ` +
    `acc ${(p.contrastAcc * 100).toFixed(1)}% ${p.imagesPerSec.toFixed(0)} img/s ETA ${formatDuration(p.etaSec)}`
  );
}

export function formatDuration(sec: number): string {
  if (!Number.isFinite(sec)) return '?';
  const s = Math.round(sec);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(s % 60).padStart(2, '0')}s`;
}

/** Redraws the bar in place on a TTY stream. */
export function createProgressBar(stream: NodeJS.WriteStream): {
  update(p: ProgressEvent): void;
  done(): void;
} {
  let last = 0;
  return {
    update(p) {
      const now = Date.now();
      if (now - last < 100 && p.globalStep < p.totalSteps) return;
      last = now;
      stream.write(`\r${formatProgress(p).slice(0, Math.max(40, (stream.columns ?? 160) - 1))}\x1b[K`);
    },
    done() {
      stream.write('\n');
    },
  };
}

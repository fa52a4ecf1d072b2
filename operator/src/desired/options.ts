/** Operator-wide settings the builders need (from flags, parsed once in operator/src/config.ts). */

export interface BuildOptions {
  /** Image for workers that do not set spec.template.image. */
  readonly workerImage: string;
  /** Entrypoint before the `worker` / `eval` sub-command. */
  readonly workerCommand: readonly string[];
  /** Labels of the operator's own pods: the NetworkPolicy admits them to the status port. */
  readonly operatorPodLabels: Readonly<Record<string, string>>;
  /** Namespace the operator runs in ("" = any namespace may hold operator pods). */
  readonly operatorNamespace: string;
  /** UID/GID workers run as (Pod Security "restricted" requires non-root). */
  readonly runAsUser: number;
}

export const DEFAULT_BUILD_OPTIONS: BuildOptions = Object.freeze({
  workerImage: 'ghcr.io/jcl-operator/jcl:latest',
  workerCommand: Object.freeze(['node', '/app/bin/jcl.js']),
  operatorPodLabels: Object.freeze({ 'app.kubernetes.io/name': 'jcl-operator' }),
  operatorNamespace: '',
  runAsUser: 1000,
});

/**
 * Fluent test fixtures in the style of jobset's wrappers.go (MakeJobSet(...).Obj()): start from a valid
 * job, change only what the test is about, then .obj(). Pods get the same treatment in make-pod.ts.
 */
import { API_VERSION, KIND } from '../api/constants.ts';
import { withDefaults } from '../api/defaults.ts';
import type { CleanPodPolicy, EvaluationKind, JobSpec } from '../api/job-schema.ts';
import type { JCLTrainingJob, JobStatus } from '../api/status-schema.ts';

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

export class JobWrapper {
  private readonly job: JCLTrainingJob;

  constructor(name: string, namespace: string) {
    this.job = {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: {
        name,
        namespace,
        uid: `uid-${name}`,
        generation: 1,
        creationTimestamp: new Date('2026-01-01T00:00:00Z'),
      },
      spec: {
        workers: 1,
        training: {
          model: { arch: 'resnet-tiny' },
          optim: { batchSize: 8, epochs: 1 },
          jcl: { queueSize: 64 },
        },
      } as unknown as JobSpec,
    };
  }

  workers(n: number): this {
    this.job.spec.workers = n;
    return this;
  }
  image(image: string): this {
    this.job.spec.template = { ...this.job.spec.template, image };
    return this;
  }
  template(t: JobSpec['template']): this {
    this.job.spec.template = { ...this.job.spec.template, ...t };
    return this;
  }
  training(t: DeepPartial<JobSpec['training']>): this {
    const cur = this.job.spec.training as unknown as Record<string, object>;
    for (const [k, v] of Object.entries(t)) cur[k] = { ...(cur[k] ?? {}), ...(v as object) };
    return this;
  }
  dataset(d: Partial<JobSpec['dataset']>): this {
    this.job.spec.dataset = { ...this.job.spec.dataset, ...d } as JobSpec['dataset'];
    return this;
  }
  checkpoints(c: Partial<JobSpec['checkpoints']>): this {
    this.job.spec.checkpoints = { ...this.job.spec.checkpoints, ...c } as JobSpec['checkpoints'];
    return this;
  }
  evaluation(kind: EvaluationKind, params?: Record<string, unknown>): this {
    this.job.spec.evaluation = [...(this.job.spec.evaluation ?? []), params ? { kind, params } : { kind }];
    return this;
  }
  backoffLimit(n: number): this {
    return this.runPolicy({ backoffLimit: n });
  }
  cleanPodPolicy(p: CleanPodPolicy): this {
    return this.runPolicy({ cleanPodPolicy: p });
  }
  activeDeadlineSeconds(s: number): this {
    return this.runPolicy({ activeDeadlineSeconds: s });
  }
  ttlSecondsAfterFinished(s: number): this {
    return this.runPolicy({ ttlSecondsAfterFinished: s });
  }
  suspend(on = true): this {
    return this.runPolicy({ suspend: on });
  }
  /** spec.runPolicy.schedulingPolicy (gang scheduling); the CRD defaults fill the rest. */
  gang(p: Partial<NonNullable<JobSpec['runPolicy']['schedulingPolicy']>>): this {
    return this.runPolicy({ schedulingPolicy: p as NonNullable<JobSpec['runPolicy']['schedulingPolicy']> });
  }
  runPolicy(p: Partial<JobSpec['runPolicy']>): this {
    this.job.spec.runPolicy = { ...this.job.spec.runPolicy, ...p } as JobSpec['runPolicy'];
    return this;
  }
  status(s: JobStatus): this {
    this.job.status = { ...this.job.status, ...s };
    return this;
  }
  deleting(at: string): this {
    this.job.metadata!.deletionTimestamp = new Date(at);
    return this;
  }
  /** The job with the CRD defaults applied, as the apiserver would store it. */
  obj(): JCLTrainingJob {
    return withDefaults(this.job);
  }
}

export const makeJob = (name = 'demo', namespace = 'ns'): JobWrapper => new JobWrapper(name, namespace);

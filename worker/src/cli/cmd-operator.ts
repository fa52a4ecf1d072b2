/** `jcl operator`: runs the JCLTrainingJob operator (operator/src/main.ts). */
export async function run(argv: string[]): Promise<number> {
  const { runOperator } = await import('../../../operator/src/main.ts');
  return runOperator(argv);
}

/**
 * Writes manifests/crd/training.jcl.dev_jcltrainingjobs.yaml from operator/src/api (the TypeBox schemas).
 *   npx tsx scripts/generate-crd.ts          write the file
 *   npx tsx scripts/generate-crd.ts --check  exit 1 if the checked-in file differs (CI)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderCrdYaml, CRD_FILE } from '../operator/src/api/crd-yaml.ts';

const file = fileURLToPath(new URL(`../${CRD_FILE}`, import.meta.url));
const want = renderCrdYaml();
if (process.argv.includes('--check')) {
  let have: string;
  try {
    have = readFileSync(file, 'utf8');
  } catch {
    have = '';
  }
  if (have !== want) {
    console.error(`${CRD_FILE} is out of date with operator/src/api: run npm run generate:crd`);
    process.exit(1);
  }
  console.log(`${CRD_FILE} is up to date`);
} else {
  writeFileSync(file, want);
  console.log(`wrote ${CRD_FILE}`);
}

// Validates Kubernetes objects offline against the Kubernetes OpenAPI schemas shipped in npm kubernetes-models.
// Input: multi-document YAML (the output of `kubectl kustomize DIR`) on stdin or in the files named as arguments.
// Every document must be a known built-in kind (custom resources such as PrometheusRule are refused here: validate them
// separately). Exit 0 when every object validates; 1 with one line per problem on stderr otherwise.
// With --json, the parsed objects are written to stdout as one JSON array (the CI checks read it).
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

const args = process.argv.slice(2);
const json = args.includes("--json");
const files = args.filter((a) => a !== "--json");
const inputs = files.length ? files.map((f) => [f, readFileSync(f, "utf8")]) : [["<stdin>", readFileSync(0, "utf8")]];

const MaxDocuments = 1000;
const problems = [];
const objects = [];
for (const [name, text] of inputs) {
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) {
      problems.push(`${name}: YAML: ${doc.errors[0].message}`);
      continue;
    }
    const obj = doc.toJS();
    if (obj == null) continue;
    if (objects.length >= MaxDocuments) {
      problems.push(`${name}: more than ${MaxDocuments} documents`);
      break;
    }
    objects.push(obj);
  }
}

function moduleFor(apiVersion) {
  // "v1" -> kubernetes-models/v1; "apps/v1" -> kubernetes-models/apps/v1; only [a-z0-9.] group and version parts.
  if (typeof apiVersion !== "string" || !/^([a-z0-9.-]+\/)?v[0-9a-z]+$/.test(apiVersion)) return null;
  return `kubernetes-models/${apiVersion}`;
}

for (const obj of objects) {
  const id = `${obj.kind ?? "?"}/${obj.metadata?.name ?? "?"} (${obj.apiVersion ?? "?"})`;
  const path = moduleFor(obj.apiVersion);
  if (!path || typeof obj.kind !== "string" || !/^[A-Z][A-Za-z0-9]*$/.test(obj.kind)) {
    problems.push(`${id}: not a Kubernetes object (apiVersion and kind)`);
    continue;
  }
  let mod;
  try {
    mod = await import(path);
  } catch {
    problems.push(`${id}: unknown API version (custom resources are not validated here)`);
    continue;
  }
  const Model = mod[obj.kind];
  if (typeof Model !== "function" || Model.kind !== obj.kind) {
    problems.push(`${id}: unknown kind in ${obj.apiVersion}`);
    continue;
  }
  try {
    new Model(obj).validate();
  } catch (e) {
    const details = Array.isArray(e.errors) ? e.errors.map((x) => `${x.instancePath || "/"} ${x.message}`).join("; ") : e.message;
    problems.push(`${id}: ${details}`);
  }
}

for (const p of problems) console.error(p);
if (json) process.stdout.write(JSON.stringify(objects));
console.error(`validate: ${objects.length} objects, ${problems.length} problems`);
process.exit(problems.length ? 1 : 0);

// immich_client.mjs — requests shaped as Immich's server sends them to its machine-learning URL
// (server/src/repositories/machine-learning.repository.ts): Node's own FormData with the
// "entries" JSON string and the photo as a Blob (so the part's filename is "blob"), or "text",
// POSTed with fetch; GET /ping as its availability check. Usage: node immich_client.mjs URL
// JOBS.json [serial], where JOBS is a list of {entries, image: PATH | text: STRING | ping: true};
// all jobs start at once (one after the other with "serial", as Immich's server sends one asset's
// request) and one JSON list of {status, body, ms} comes out on stdout, in job order.
import { readFile } from 'node:fs/promises';

const [base, jobsPath, mode] = process.argv.slice(2);
const jobs = JSON.parse(await readFile(jobsPath, 'utf8'));

async function send(job) {
  const started = performance.now();
  let response;
  if (job.ping) {
    response = await fetch(new URL('/ping', base));
  } else {
    const form = new FormData();
    form.append('entries', JSON.stringify(job.entries));
    if (job.image !== undefined) {
      form.append('image', new Blob([new Uint8Array(await readFile(job.image))]));
    } else if (job.text !== undefined) {
      form.append('text', job.text);
    }
    response = await fetch(new URL('/predict', base), { method: 'POST', body: form });
  }
  const body = await response.text();
  return { status: response.status, body, ms: performance.now() - started };
}

let results = [];
if (mode === 'serial') {
  for (const job of jobs) {
    results.push(await send(job));
  }
} else {
  results = await Promise.all(jobs.map(send));
}
process.stdout.write(JSON.stringify(results));

// openai_client.mjs — OpenAI's official TypeScript/JavaScript client (npm `openai`, pinned in
// package.json) against `siglip serve` on a free loopback port: models.list(), models.retrieve(),
// embeddings.create with the client's default (it asks for base64 and decodes it itself), with
// encoding_format "float" and with dimensions, and errors as the client's APIError classes.
//
// Usage: node openai_client.mjs SIGLIP_EXECUTABLE MODEL_DIR   (exit 77 = skipped: no openai)
// Environment: SIGLIP_TEST_DEVICE, SIGLIP_TEST_CACHE as the other serve tests.
//
// Expected values: the text_embeds rows `siglip embed` writes for the same texts (read here from
// its .safetensors output); test_cli.py's embed-tiny checks those against transformers. base64
// carries the very float32 values: equal exactly; the JSON floats are printed with 9 significant
// digits, which read back to the same float32: equal after Math.fround.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

// openai 6 supports Node.js 20 and later (its README); Debian 12's own nodejs is 18.
if (Number(process.versions.node.split('.')[0]) < 20) {
  console.error(`skipped: the openai package needs Node.js >= 20, this is ${process.version}`);
  process.exit(77);
}
let OpenAI;
try {
  ({ default: OpenAI } = await import('openai'));
} catch (e) {
  console.error(`skipped: the openai package is not installed (cd tests/node && npm install --ignore-scripts): ${e.message}`);
  process.exit(77);
}

const [exe, model] = process.argv.slice(2);
const common = [];
if (process.env.SIGLIP_TEST_DEVICE) common.push('--device', process.env.SIGLIP_TEST_DEVICE);
common.push(...(process.env.SIGLIP_TEST_CACHE ? ['--cache-dir', process.env.SIGLIP_TEST_CACHE]
                                              : ['--no-cache']));
let failures = 0, checks = 0;
function check(cond, what) {
  checks++;
  if (!cond) {
    failures++;
    console.error('FAIL:', what);
  }
  return cond;
}

// The F32 tensor `name` of a .safetensors file as rows.
function readRows(path, name) {
  const blob = readFileSync(path);
  const n = Number(blob.readBigUInt64LE(0));
  const info = JSON.parse(blob.subarray(8, 8 + n).toString('utf8'))[name];
  const [begin, end] = info.data_offsets;
  const data = new Float32Array(blob.buffer.slice(blob.byteOffset + 8 + n + begin,
                                                  blob.byteOffset + 8 + n + end));
  const [rows, cols] = info.shape;
  return Array.from({ length: rows }, (_, i) => Array.from(data.subarray(i * cols, (i + 1) * cols)));
}

const texts = ['a photo of 2 cats', 'a photo of 2 dogs', 'café naïve Straße', ''];
const tmp = mkdtempSync(join(tmpdir(), 'siglip-openai-'));
const out = join(tmp, 'ref.safetensors');
const embed = spawnSync(exe, ['embed', '-m', model, '-o', out, ...common,
                              ...texts.flatMap((t) => ['-t', t])], { encoding: 'utf8' });
if (embed.status !== 0) {
  console.error('siglip embed failed:', embed.stderr);
  process.exit(1);
}
const ref = readRows(out, 'text_embeds');
rmSync(tmp, { recursive: true, force: true });

const server = spawn(exe, ['serve', '-m', model, '--host', '127.0.0.1', '--port', '0',
                           '--model-name', 'siglip-tiny', ...common],
                     { stdio: ['ignore', 'inherit', 'pipe'] });
const lines = createInterface({ input: server.stderr });
const port = await new Promise((resolve, reject) => {
  lines.once('line', (line) => {
    const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(line);
    m ? resolve(Number(m[1])) : reject(new Error(`siglip serve did not start: ${line}`));
  });
  server.once('exit', (code) => reject(new Error(`siglip serve exited with ${code}`)));
});
lines.on('line', (line) => process.stderr.write(line + '\n'));

function compare(what, got, want, exact) {
  if (!check(got.length === want.length, `${what}: ${got.length} rows, expected ${want.length}`))
    return;
  let worst = 0;
  got.forEach((row, i) => {
    check(row.length === want[i].length, `${what}: row ${i} has ${row.length} values`);
    row.forEach((v, k) => { worst = Math.max(worst, Math.abs(Math.fround(v) - want[i][k])); });
  });
  check(exact ? worst === 0 : worst <= 1e-6, `${what}: max |diff| ${worst}`);
  console.log(`${what}: ${got.length} rows, max |diff| against siglip embed ${worst}`);
}

try {
  const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'unused',
                              maxRetries: 0, timeout: 60000 });
  const models = [];
  for await (const m of client.models.list()) models.push(m);
  check(models.length === 1 && models[0].id === 'siglip-tiny' && models[0].object === 'model',
        `models.list(): ${JSON.stringify(models)}`);

  // The client's default: it sends encoding_format "base64" and decodes the float32 itself.
  const b64 = await client.embeddings.create({ model: 'siglip-tiny', input: texts });
  check(b64.object === 'list' && b64.model === 'siglip-tiny', `default: ${b64.object} ${b64.model}`);
  check(b64.data.map((d) => d.index).join() === texts.map((_, i) => i).join(), 'default: indices');
  compare('embeddings.create (default, base64)', b64.data.map((d) => d.embedding), ref, true);
  check(b64.usage.prompt_tokens > 0 && b64.usage.total_tokens === b64.usage.prompt_tokens,
        `usage ${JSON.stringify(b64.usage)}`);

  const flt = await client.embeddings.create({ model: 'siglip-tiny', input: texts,
                                               encoding_format: 'float' });
  compare('embeddings.create (encoding_format float)', flt.data.map((d) => d.embedding), ref,
          false);
  const one = await client.embeddings.create({ model: 'siglip-tiny', input: texts[1] });
  compare('embeddings.create (one string)', one.data.map((d) => d.embedding), [ref[1]], true);

  // An error reaches the client as its APIError with the server's status, message and OpenAI's
  // error fields: type, param (the field at fault) and code (a string or null).
  try {
    await client.embeddings.create({ model: 'siglip-tiny', input: [] });
    check(false, 'an empty input was accepted');
  } catch (e) {
    check(e instanceof OpenAI.BadRequestError && e.status === 400 &&
          e.type === 'invalid_request_error' && e.param === 'input' && e.code === null,
          `empty input: ${e} type ${e.type} param ${e.param} code ${e.code}`);
  }
  try {
    await client.embeddings.create({ model: 'siglip-tiny', input: 'a', dimensions: 8 });
    check(false, 'dimensions 8 was accepted');
  } catch (e) {
    check(e instanceof OpenAI.BadRequestError && e.param === 'dimensions' &&
          /not supported: this model's text embeddings have 32 dimensions/.test(e.message),
          `dimensions 8: ${e} param ${e.param}`);
  }
  const same = await client.embeddings.create({ model: 'siglip-tiny', input: texts[1],
                                                dimensions: ref[1].length, user: null });
  compare('embeddings.create (dimensions = the model\'s, user null)',
          same.data.map((d) => d.embedding), [ref[1]], true);

  // models.retrieve: the served model, or OpenAI's 404 with code "model_not_found".
  const model = await client.models.retrieve('siglip-tiny');
  check(model.id === 'siglip-tiny' && model.object === 'model',
        `models.retrieve: ${JSON.stringify(model)}`);
  try {
    await client.models.retrieve('text-embedding-3-small');
    check(false, 'an unknown model was retrieved');
  } catch (e) {
    check(e instanceof OpenAI.NotFoundError && e.code === 'model_not_found' && e.param === null,
          `models.retrieve of an unknown model: ${e} code ${e.code}`);
  }
} catch (e) {
  check(false, `${e.stack || e}`);
} finally {
  server.kill('SIGTERM');
  const code = await new Promise((resolve) => {
    if (server.exitCode !== null) resolve(server.exitCode);
    else server.once('exit', (c) => resolve(c));
  });
  check(code === 0, `siglip serve exited ${code} after SIGTERM`);
}
console.error(`serve-openai: ${checks} checks, ${failures} failed`);
process.exit(failures ? 1 : 0);

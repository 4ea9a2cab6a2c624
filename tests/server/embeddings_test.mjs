// The official OpenAI Node client's embeddings against `smallmind serve` on
// an encoder (started by serve_test.sh): its default request (base64,
// which it decodes), floats, dimensions, a list of inputs in order, and
// an empty input refused with a 400. Exits non-zero on the first failed
// check.
import assert from "node:assert/strict";
import OpenAI from "openai";

const client = new OpenAI({
  baseURL: `http://127.0.0.1:${process.env.PORT}/v1`, apiKey: "unused", maxRetries: 0,
});
const model = process.env.MODEL_ID;
const norm = (v) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

const decoded = await client.embeddings.create({ model, input: ["the city", "a new house"] });
assert.equal(decoded.object, "list");
assert.equal(decoded.data.length, 2);
assert.deepEqual(decoded.data.map((d) => d.index), [0, 1]);
assert.equal(decoded.data[0].embedding.length, 32);
assert.ok(Math.abs(norm(decoded.data[0].embedding) - 1) < 1e-5);
assert.ok(decoded.usage.prompt_tokens > 4);
console.log("ok: embeddings.create (base64, decoded by the client)");

const floats = await client.embeddings.create({ model, input: "a new house", encoding_format: "float" });
floats.data[0].embedding.forEach((x, i) =>
  assert.ok(Math.abs(x - decoded.data[1].embedding[i]) < 1e-6, `component ${i}`));
console.log("ok: floats equal the decoded base64");

const short = await client.embeddings.create({ model, input: "the city", dimensions: 8 });
assert.equal(short.data[0].embedding.length, 8);
assert.ok(Math.abs(norm(short.data[0].embedding) - 1) < 1e-5);
console.log("ok: dimensions");

await assert.rejects(client.embeddings.create({ model, input: "" }),
                     (e) => e.status === 400 && /must not be empty/.test(e.message));
console.log("ok: an empty input is a 400");

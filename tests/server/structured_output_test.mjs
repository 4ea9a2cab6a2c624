// Structured output checked by clients and validators no one here wrote,
// against `smallmind serve` (started by serve_test.sh with a random-weight
// model, so the grammar alone makes the output valid):
//  - the official OpenAI client's chat.completions.parse() with a zod
//    schema (zodResponseFormat) returns a parsed object;
//  - SCHEMAS randomly generated JSON Schemas, each asked for with
//    response_format json_schema and a seed: every reply that finishes is
//    JSON that ajv (with ajv-formats) validates against its schema, every
//    reply cut by max_tokens is empty or begins like JSON, and none stops
//    early (a grammar that blocked every token would end the reply short);
//  - chat logprobs: one entry per token of the reply.
// Exits non-zero on the first failed check.
import assert from "node:assert/strict";
import OpenAI from "openai";
import { zodResponseFormat } from "openai/helpers/zod";
import { z } from "zod";
import Ajv from "ajv";
import addFormats from "ajv-formats";

const baseURL = `http://127.0.0.1:${process.env.PORT}/v1`;
const model = process.env.MODEL_ID;
const client = new OpenAI({ baseURL, apiKey: "unused", maxRetries: 0 });
const messages = [{ role: "user", content: "Describe a person as JSON." }];

// zod, through the client's own helper.
const Person = z.object({
  name: z.string().max(8),
  age: z.number().int(),
  member: z.boolean(),
  role: z.enum(["admin", "user"]),
  tags: z.array(z.string().max(4)).max(2),
});
let parsed = null;
for (let seed = 0; seed < 12 && parsed === null; seed++) {
  try {
    const reply = await client.beta.chat.completions.parse({
      model, messages, response_format: zodResponseFormat(Person, "person"), seed, max_tokens: 400,
    });
    parsed = reply.choices[0].message.parsed;
  } catch (e) {
    if (e.constructor.name !== "LengthFinishReasonError") throw e;
  }
}
assert.ok(parsed !== null, "no seed of 12 finished a Person within 400 tokens");
assert.ok(Person.safeParse(parsed).success, JSON.stringify(parsed));
console.log(`ok: chat.completions.parse with zod: ${JSON.stringify(parsed)}`);

// Random schemas from a seeded generator.
let state = 12345;
const random = () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
const pick = (list) => list[Math.floor(random() * list.length)];
const int = (lo, hi) => lo + Math.floor(random() * (hi - lo + 1));

// `refs`: whether it may refer to #/$defs/shared (which itself may not).
function schemaOf(depth, refs = true) {
  const leaf = depth >= 3 || random() < 0.35;
  const kind = leaf ? pick(["string", "integer", "number", "boolean", "null", "enum", "const", "format", "pattern"])
                    : pick(refs ? ["object", "object", "array", "anyOf", "ref"] : ["object", "array", "anyOf"]);
  switch (kind) {
    case "string": {
      const s = { type: "string" };
      if (random() < 0.5) s.maxLength = int(0, 6);
      if (random() < 0.3) s.minLength = Math.min(int(0, 3), s.maxLength ?? 3);
      return s;
    }
    case "integer": case "number": case "boolean": case "null": return { type: kind };
    case "enum": return { enum: [pick(["a", "b c", "é"]), int(-3, 3), pick([true, null, 1.5])] };
    case "const": return { const: pick(["x", 0, false, { k: [1] }]) };
    case "format": return { type: "string", format: pick(["date", "time", "date-time", "uuid"]) };
    case "pattern": return { type: "string", pattern: pick([
      "^[a-z]{1,4}$", "^\\d{2}-\\d{2}$", "^(ab|cd)+e?$", "^[A-Z][a-z]*\\.?$", "^[^\"\\\\]{0,3}$",
      "x[0-9a-f]+", "^\\w+@\\w+\\.(com|org)$", '^a"b\\\\c$', "^.\\s.$"]) };
    case "object": {
      const properties = {};
      const required = [];
      for (let i = 0, n = int(1, 3); i < n; i++) {
        const name = pick(["id", "name", "value", "items", "ok", "k" + i]) + i;
        properties[name] = schemaOf(depth + 1, refs);
        if (random() < 0.6) required.push(name);
      }
      return { type: "object", properties, required, additionalProperties: false };
    }
    case "array": {
      const s = { type: "array", items: schemaOf(depth + 1, refs), maxItems: int(0, 3) };
      if (random() < 0.5) s.minItems = Math.min(int(0, 2), s.maxItems);
      return s;
    }
    case "anyOf": return { anyOf: [schemaOf(depth + 1, refs), schemaOf(depth + 1, refs)] };
    case "ref": return { $ref: "#/$defs/shared" };
  }
}

const ajv = new Ajv({ strict: false });
addFormats(ajv);
const count = Number(process.env.SCHEMAS ?? 200);
let finished = 0, cut = 0;
for (let i = 0; i < count; i++) {
  const schema = { ...schemaOf(0), $defs: { shared: schemaOf(2, false) } };
  const validate = ajv.compile(schema);
  const reply = await client.chat.completions.create({
    model, messages, seed: i, max_tokens: 300,
    response_format: { type: "json_schema", json_schema: { name: "s", strict: true, schema } },
  });
  const { content } = reply.choices[0].message;
  const finish = reply.choices[0].finish_reason;
  if (finish === "length") {
    cut++;
    continue;
  }
  assert.equal(finish, "stop", `schema ${i}`);
  let value;
  try {
    value = JSON.parse(content);
  } catch (e) {
    assert.fail(`schema ${i}: not JSON: ${JSON.stringify(content)}\n${JSON.stringify(schema)}`);
  }
  assert.ok(validate(value),
            `schema ${i}: ${JSON.stringify(content)} is invalid: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(schema)}`);
  finished++;
}
assert.ok(finished >= count / 2, `only ${finished} of ${count} finished`);
console.log(`ok: ${finished} of ${count} random schemas answered with valid JSON (ajv); ${cut} cut by max_tokens`);

const withLogprobs = await client.chat.completions.create({
  model, messages, max_tokens: 6, temperature: 0, logprobs: true, top_logprobs: 2,
});
const tokens = withLogprobs.choices[0].logprobs.content;
assert.equal(tokens.length, withLogprobs.usage.completion_tokens);
for (const t of tokens) assert.equal(t.top_logprobs.length, 2);
console.log("ok: chat logprobs, one entry per token");

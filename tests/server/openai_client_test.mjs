// The official OpenAI Node client against `smallmind serve` (started by
// serve_test.sh): chat and completions, streamed and not, a stop sequence,
// max_tokens, a bad key and an unknown model. Exits non-zero on the first
// failed check.
import assert from "node:assert/strict";
import OpenAI from "openai";

const baseURL = `http://127.0.0.1:${process.env.PORT}/v1`;
const model = process.env.MODEL_ID;
const client = new OpenAI({ baseURL, apiKey: process.env.API_KEY, maxRetries: 0 });

const chat = await client.chat.completions.create({
  model, messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Hi" }],
  max_tokens: 8, temperature: 0,
});
assert.equal(chat.object, "chat.completion");
assert.equal(chat.choices[0].message.role, "assistant");
assert.equal(chat.choices[0].finish_reason, "length");
assert.equal(chat.usage.completion_tokens, 8);
assert.equal(chat.usage.total_tokens, chat.usage.prompt_tokens + 8);
console.log("ok: chat completion");

let streamed = "";
let finish = null;
let usage = null;
const stream = await client.chat.completions.create({
  model, messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Hi" }],
  max_tokens: 8, temperature: 0, stream: true, stream_options: { include_usage: true },
});
for await (const chunk of stream) {
  if (chunk.usage) usage = chunk.usage;
  if (chunk.choices.length === 0) continue;
  streamed += chunk.choices[0].delta.content ?? "";
  if (chunk.choices[0].finish_reason) finish = chunk.choices[0].finish_reason;
}
assert.equal(streamed, chat.choices[0].message.content);
assert.equal(finish, "length");
assert.equal(usage.completion_tokens, 8);
console.log("ok: chat stream equals the chat completion");

const text = await client.completions.create({ model, prompt: "Once upon", max_tokens: 6, temperature: 0 });
assert.equal(text.object, "text_completion");
assert.equal(text.usage.completion_tokens, 6);
const stopAt = text.choices[0].text.slice(3, 4);
const stopped = await client.completions.create({
  model, prompt: "Once upon", max_tokens: 6, temperature: 0, stop: [stopAt],
});
assert.equal(stopped.choices[0].finish_reason, "stop");
assert.equal(stopped.choices[0].text, text.choices[0].text.slice(0, text.choices[0].text.indexOf(stopAt)));
console.log("ok: completion, stop sequence");

let pieces = 0;
for await (const chunk of await client.completions.create({ model, prompt: "Once", max_tokens: 4, stream: true })) {
  if (chunk.choices.length && chunk.choices[0].text) pieces += 1;
}
assert.ok(pieces >= 1);
console.log("ok: completion stream");

await assert.rejects(
  new OpenAI({ baseURL, apiKey: "wrong", maxRetries: 0 }).chat.completions.create({
    model, messages: [{ role: "user", content: "Hi" }],
  }),
  (e) => e.status === 401 && e.error?.type === "authentication_error");
console.log("ok: a bad key is a 401");

await assert.rejects(
  client.chat.completions.create({ model: "no-such-model", messages: [{ role: "user", content: "Hi" }] }),
  (e) => e.status === 404 && /does not exist/.test(e.message));
console.log("ok: an unknown model is a 404");

await assert.rejects(
  client.chat.completions.create({ model, messages: [{ role: "user", content: "Hi" }], temperature: "warm" }),
  (e) => e.status === 400 && /temperature/.test(e.message));
console.log("ok: a wrong type is a 400 naming the field");

const models = await client.models.list();
assert.equal(models.data[0].id, model);
console.log("ok: models");

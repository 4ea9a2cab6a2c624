// Fuzzes every tokenizer kind with arbitrary bytes: the first byte picks
// the vocabulary, the rest is text to encode and, read as token ids
// (in range or not), ids to decode. Encoding gives ids in the vocabulary or
// a Status; decoding never reads outside the vocabulary.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "text/tokenizer.h"

namespace {

using smallmind::text::Tokenizer;
using smallmind::model::TokenizerSpec;

// Unigram (XLM-R's form): <s> <pad> </s> <unk>, pieces with scores that
// tie in places; no character map (the hostile-map mode adds one).
TokenizerSpec UnigramSpec() {
  TokenizerSpec spec;
  spec.set_kind(smallmind::model::UNIGRAM);
  for (const char* t : {"<s>", "<pad>", "</s>", "<unk>"}) {
    spec.add_tokens(t);
    spec.add_token_types(smallmind::model::CONTROL);
    spec.add_scores(0);
  }
  spec.set_token_types(3, smallmind::model::UNKNOWN);
  const std::pair<const char*, float> pieces[] = {
      {"\xe2\x96\x81", -2}, {"\xe2\x96\x81the", -3}, {"0", -4}, {"00", -8}, {"a", -3},
      {"ab", -4}, {"b", -3}, {"\xc3\xa9", -5}, {"\xe2\x96\x81" "a", -3.5f}};
  for (const auto& [text, score] : pieces) {
    spec.add_tokens(text);
    spec.add_token_types(smallmind::model::NORMAL);
    spec.add_scores(score);
  }
  spec.set_bos_id(0);
  spec.set_eos_id(2);
  spec.set_unknown_id(3);
  spec.set_add_bos(true);
  return spec;
}

// Small vocabularies of each kind, with the special tokens and byte
// fallbacks real ones have.
std::vector<std::unique_ptr<Tokenizer>> MakeTokenizers() {
  std::vector<TokenizerSpec> specs(4);
  specs[0].set_kind(smallmind::model::CHAR);
  for (const char* t : {"a", "b", "c", " ", "\n", "\xc3\xa9", "\xe2\x82\xac"}) specs[0].add_tokens(t);
  for (int b = 0; b < 256; ++b) specs[0].add_tokens(std::string(1, char(b)) + "#");

  specs[1].set_kind(smallmind::model::GPT2_BPE);
  for (int b = 0; b < 256; ++b) {
    specs[1].add_tokens(smallmind::text::Gpt2EncodeBytes(std::string(1, char(b))));
  }
  for (const char* m : {"h e", "l l", "he ll", "hell o", "\xc4\xa0 t", "\xc4\xa0t h"}) {
    specs[1].add_merges(m);
  }
  for (const char* t : {"he", "ll", "hell", "hello", "\xc4\xa0t", "\xc4\xa0th", "<|endoftext|>"}) {
    specs[1].add_tokens(t);
  }
  specs[1].set_eos_id(specs[1].tokens_size() - 1);

  specs[2].set_kind(smallmind::model::SENTENCEPIECE_BPE);
  for (const char* t : {"<unk>", "<s>", "</s>"}) specs[2].add_tokens(t);
  specs[2].add_token_types(smallmind::model::UNKNOWN);
  specs[2].add_token_types(smallmind::model::CONTROL);
  specs[2].add_token_types(smallmind::model::CONTROL);
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    specs[2].add_tokens(name);
    specs[2].add_token_types(smallmind::model::BYTE);
  }
  for (const char* t : {"\xe2\x96\x81", "\xe2\x96\x81t", "he", "\xe2\x96\x81the", "ll", "o"}) {
    specs[2].add_tokens(t);
  }
  for (int i = 0; i < specs[2].tokens_size(); ++i) specs[2].add_scores(-i);
  specs[2].set_unknown_id(0);
  specs[2].set_bos_id(1);
  specs[2].set_eos_id(2);
  specs[2].set_add_bos(true);

  // WordPiece (BERT's, in llama.cpp's form): [PAD] [UNK] [CLS] [SEP],
  // word starts, continuations.
  specs[3].set_kind(smallmind::model::WORDPIECE);
  for (const char* t : {"[PAD]", "[UNK]", "[CLS]", "[SEP]"}) {
    specs[3].add_tokens(t);
    specs[3].add_token_types(smallmind::model::CONTROL);
  }
  // (A hex escape runs on through hex digits: "\x81" "a" keeps them apart.)
  for (const char* t : {"\xe2\x96\x81the", "\xe2\x96\x81" "a", "\xe2\x96\x81,", "s", "ing", "a",
                        "\xe2\x96\x81\xe4\xb8\xad", "\xe2\x96\x81" "cafe"}) {
    specs[3].add_tokens(t);
    specs[3].add_token_types(smallmind::model::NORMAL);
  }
  specs[3].set_unknown_id(1);
  specs[3].set_bos_id(2);
  specs[3].set_separator_id(3);
  specs[3].set_add_bos(true);

  specs.push_back(UnigramSpec());

  std::vector<std::unique_ptr<Tokenizer>> out;
  for (const TokenizerSpec& spec : specs) {
    auto t = Tokenizer::Create(spec);
    if (!t.ok()) std::abort();  // the specs above are valid
    out.push_back(std::move(*t));
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto* tokenizers = new std::vector<std::unique_ptr<Tokenizer>>(MakeTokenizers());
  if (size == 0) return 0;
  // One selector past the fixed ones: a Unigram vocabulary whose character
  // map is the input's next bytes (their count in the byte after the
  // selector), the rest text. A hostile map is refused or read in bounds.
  if (data[0] % (tokenizers->size() + 1) == tokenizers->size() && size >= 2) {
    const size_t map_size = std::min<size_t>(data[1] * 4u, size - 2);
    TokenizerSpec spec = UnigramSpec();
    spec.mutable_pre_tokenizer()->set_precompiled_charsmap(
        std::string(reinterpret_cast<const char*>(data + 2), map_size));
    auto t = Tokenizer::Create(spec);
    if (!t.ok()) return 0;
    const absl::string_view text(reinterpret_cast<const char*>(data + 2 + map_size),
                                 size - 2 - map_size);
    auto ids = (*t)->Encode(text, true);
    if (!ids.ok()) return 0;
    for (int32_t id : *ids) {
      if (id < 0 || id >= (*t)->vocab_size()) std::abort();
    }
    return 0;
  }
  const Tokenizer& t = *(*tokenizers)[data[0] % (tokenizers->size() + 1) % tokenizers->size()];
  const absl::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  auto ids = t.Encode(text, data[0] & 0x80);
  if (ids.ok()) {
    for (int32_t id : *ids) {
      if (id < 0 || id >= t.vocab_size()) std::abort();
    }
    t.Decode(*ids);
  }
  std::vector<int32_t> raw((size - 1) / 4);
  if (!raw.empty()) std::memcpy(raw.data(), data + 1, raw.size() * 4);
  t.Decode(raw);
  for (int32_t id : raw) {
    if (id >= 0 && id < t.vocab_size()) t.Piece(id);
  }
  return 0;
}

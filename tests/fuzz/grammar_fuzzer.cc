// Fuzzes GBNF parsing, JSON Schema conversion and the matcher. The input
// is a grammar (or, when it starts with '{', a JSON schema) and after a
// line "---" a text to match. A schema converts to GBNF that parses, or
// gives a Status; a grammar parses or gives a Status; the matcher steps
// through any bytes, and the token mask agrees with stepping each token
// through the matcher alone. Never a crash, a hang or unbounded memory.
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "grammar/grammar.h"
#include "grammar/json_schema.h"
#include "grammar/matcher.h"
#include "grammar/token_mask.h"

namespace {

using smallmind::grammar::Grammar;
using smallmind::grammar::Matcher;

const std::vector<std::string>& Vocabulary() {
  static const auto* v = [] {
    auto* v = new std::vector<std::string>;
    for (int b = 0; b < 256; ++b) v->push_back(std::string(1, static_cast<char>(b)));
    for (const char* t : {"ab", "abc", "{\"", "\":", "12", "\xc3\xa9", "\xe2\x82", "true", "  ", "",
                          "a\x80", "\xe4\xb8\xad\"", "x\n", "\xc3\xa9\xe2"}) {
      v->push_back(t);
    }
    return v;
  }();
  return *v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t split = input.find("\n---\n");
  absl::string_view source = input.substr(0, split);
  const absl::string_view text = split == absl::string_view::npos ? "" : input.substr(split + 5);
  std::string gbnf(source);
  if (!source.empty() && source[0] == '{') {
    absl::StatusOr<std::string> converted = smallmind::grammar::JsonSchemaToGbnf(source);
    if (!converted.ok()) return 0;
    gbnf = *converted;
    if (!Grammar::Parse(gbnf).ok()) __builtin_trap();  // the converter wrote bad GBNF
  }
  absl::StatusOr<Grammar> g = Grammar::Parse(gbnf);
  if (!g.ok()) return 0;
  Matcher m(&*g);
  const std::vector<std::string>& vocab = Vocabulary();
  smallmind::grammar::TokenTrie trie(static_cast<int32_t>(vocab.size()),
                                     [&](int32_t id) { return absl::string_view(vocab[id]); });
  smallmind::grammar::TokenMask mask(&trie, &*g);
  for (size_t i = 0; i < text.size() && i < 64; ++i) {
    const std::vector<uint64_t>& allowed = mask.Compute(m.state());
    for (size_t id = 0; id < vocab.size(); id += 7) {
      const bool bit = smallmind::grammar::TokenMask::Allowed(allowed, static_cast<int32_t>(id));
      if (bit != (!vocab[id].empty() && m.Accepts(vocab[id]))) __builtin_trap();
    }
    if (!m.Accept(text.substr(i, 1))) break;
  }
  return 0;
}

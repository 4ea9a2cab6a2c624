#include "text/test_vocabulary.h"

#include <cstdio>
#include <string>

namespace smallmind::text {

model::TokenizerSpec SmallSentencePieceSpec() {
  model::TokenizerSpec spec;
  spec.set_kind(model::SENTENCEPIECE_BPE);
  auto add = [&](const std::string& token, float score, model::TokenType type) {
    spec.add_tokens(token);
    spec.add_scores(score);
    spec.add_token_types(type);
  };
  add("<unk>", 0, model::UNKNOWN);
  add("<s>", 0, model::CONTROL);
  add("</s>", 0, model::CONTROL);
  for (int b = 0; b < 256; ++b) {
    char name[8];
    snprintf(name, sizeof(name), "<0x%02X>", b);
    add(name, 0, model::BYTE);
  }
  for (const char* piece : {"▁", "h", "e", "l", "o", "w", "r", "d"}) {
    add(piece, -10, model::NORMAL);
  }
  add("he", -1, model::NORMAL);
  add("ll", -2, model::NORMAL);
  add("▁he", -3, model::NORMAL);
  add("llo", -4, model::NORMAL);
  add("▁hello", -5, model::NORMAL);
  add("▁w", -6, model::NORMAL);
  spec.set_unknown_id(0);
  spec.set_bos_id(1);
  spec.set_eos_id(2);
  spec.set_add_bos(true);
  return spec;
}

}  // namespace smallmind::text

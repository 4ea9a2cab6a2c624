#include "formats/hf_tokenizer.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <tuple>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_split.h"
#include "core/file_util.h"
#include "core/status.h"
#include "formats/importing.h"
#include "formats/json_util.h"
#include "text/tokenizer.h"

namespace smallmind::formats {
namespace {

constexpr char kTokenizerJson[] = "tokenizer.json";
constexpr char kSpaceMarker[] = "\xE2\x96\x81";  // ▁

// The pre-tokenizers (or normalizers) of a Sequence, or the one given.
std::vector<const Json*> Flatten(const Json* step, const char* list_key) {
  std::vector<const Json*> out;
  if (step == nullptr) return out;
  if (const Json* list = Field(*step, list_key); list != nullptr && list->is_array()) {
    for (const Json& s : *list) out.push_back(&s);
  } else {
    out.push_back(step);
  }
  return out;
}

std::string TypeOf(const Json& step) {
  const Json* type = Field(step, "type");
  return type != nullptr && type->is_string() ? type->get<std::string>() : "";
}

// A token named in tokenizer_config.json: a string, or {"content": ...}.
std::optional<std::string> SpecialTokenText(const Json& config, const char* key) {
  const Json* v = Field(config, key);
  if (v == nullptr) return std::nullopt;
  if (v->is_string()) return v->get<std::string>();
  if (const Json* content = Field(*v, "content"); content != nullptr && content->is_string()) {
    return content->get<std::string>();
  }
  return std::nullopt;
}

// How the text is cut and normalised, into `spec`: byte-level BPE when a
// ByteLevel pre-tokenizer is there, SentencePiece-style BPE when spaces
// become ▁.
absl::Status ReadPipeline(const Json& tokenizer, const Json& model,
                          model::TokenizerSpec& spec) {
  const std::vector<const Json*> pre = Flatten(Field(tokenizer, "pre_tokenizer"), "pretokenizers");
  const std::vector<const Json*> norm = Flatten(Field(tokenizer, "normalizer"), "normalizers");
  const bool byte_level = std::any_of(pre.begin(), pre.end(), [](const Json* s) {
    return TypeOf(*s) == "ByteLevel";
  });
  model::PreTokenizer& p = *spec.mutable_pre_tokenizer();
  if (byte_level) {
    spec.set_kind(model::GPT2_BPE);
    for (const Json* step : pre) {
      const std::string type = TypeOf(*step);
      if (type == "Split") {
        const Json* pattern = Field(*step, "pattern");
        const Json* regex = pattern != nullptr ? Field(*pattern, "Regex") : nullptr;
        SM_ASSIGN_OR_RETURN(std::string behavior,
                            String(*step, "behavior", kTokenizerJson, "Isolated"));
        SM_ASSIGN_OR_RETURN(bool invert, Bool(*step, "invert", kTokenizerJson, false));
        if (regex == nullptr || !regex->is_string() || behavior != "Isolated" || invert) {
          return absl::UnimplementedError(
              "tokenizer.json: a Split pre-tokenizer other than an isolating regex");
        }
        p.add_split_patterns(regex->get<std::string>());
      } else if (type == "Digits") {
        SM_ASSIGN_OR_RETURN(bool single, Bool(*step, "individual_digits", kTokenizerJson, false));
        p.add_split_patterns(single ? "\\p{N}" : "\\p{N}+");
      } else if (type == "ByteLevel") {
        SM_ASSIGN_OR_RETURN(bool prefix, Bool(*step, "add_prefix_space", kTokenizerJson, false));
        SM_ASSIGN_OR_RETURN(bool regex, Bool(*step, "use_regex", kTokenizerJson, true));
        if (prefix) {
          return absl::UnimplementedError(
              "tokenizer.json: ByteLevel with add_prefix_space is not supported");
        }
        if (regex) {
          SM_ASSIGN_OR_RETURN(std::vector<std::string> gpt2,
                              text::PreTokenizerPatterns("gpt-2"));
          for (const std::string& g : gpt2) p.add_split_patterns(g);
        }
      } else {
        return absl::UnimplementedError(
            absl::StrCat("tokenizer.json: pre-tokenizer '", type, "' is not supported"));
      }
    }
    for (const Json* step : norm) {
      if (TypeOf(*step) != "NFC") {
        return absl::UnimplementedError(absl::StrCat(
            "tokenizer.json: normalizer '", TypeOf(*step), "' with a byte-level vocabulary"));
      }
      p.set_nfc(true);
    }
    SM_ASSIGN_OR_RETURN(bool ignore, Bool(model, "ignore_merges", kTokenizerJson, false));
    p.set_ignore_merges(ignore);
    return absl::OkStatus();
  }
  // SentencePiece-style: spaces become ▁ (a Replace normalizer or a
  // Metaspace pre-tokenizer), a ▁ maybe prepended.
  bool spaces_marked = false, prefix = false;
  for (const Json* step : norm) {
    const std::string type = TypeOf(*step);
    const Json* pattern = Field(*step, "pattern");
    const Json* from = pattern != nullptr ? Field(*pattern, "String") : nullptr;
    SM_ASSIGN_OR_RETURN(std::string content, String(*step, "content", kTokenizerJson, ""));
    SM_ASSIGN_OR_RETURN(std::string prepend, String(*step, "prepend", kTokenizerJson, ""));
    if (type == "Replace" && from != nullptr && from->is_string() && *from == " " &&
        content == kSpaceMarker) {
      spaces_marked = true;
    } else if (type == "Prepend" && prepend == kSpaceMarker) {
      prefix = true;
    } else {
      return absl::UnimplementedError(
          absl::StrCat("tokenizer.json: normalizer '", type, "' is not supported"));
    }
  }
  for (const Json* step : pre) {
    const std::string type = TypeOf(*step);
    if (type == "Metaspace") {
      spaces_marked = true;
      SM_ASSIGN_OR_RETURN(std::string scheme,
                          String(*step, "prepend_scheme", kTokenizerJson, "always"));
      SM_ASSIGN_OR_RETURN(bool add_prefix, Bool(*step, "add_prefix_space", kTokenizerJson, true));
      prefix = prefix || (scheme != "never" && add_prefix);
    } else if (type == "Split") {
      // Gemma's split at " " comes after the normaliser has replaced every
      // space: it never cuts.
      const Json* pattern = Field(*step, "pattern");
      const Json* text = pattern != nullptr ? Field(*pattern, "String") : nullptr;
      if (!spaces_marked || text == nullptr || !text->is_string() || *text != " ") {
        return absl::UnimplementedError(
            "tokenizer.json: a Split pre-tokenizer on a SentencePiece vocabulary");
      }
    } else {
      return absl::UnimplementedError(
          absl::StrCat("tokenizer.json: pre-tokenizer '", type, "' is not supported"));
    }
  }
  if (!spaces_marked) {
    return absl::UnimplementedError(
        "tokenizer.json: a BPE vocabulary that is neither byte-level nor SentencePiece-style");
  }
  spec.set_kind(model::SENTENCEPIECE_BPE);
  p.set_add_space_prefix(prefix);
  return absl::OkStatus();
}

// Every token by id: the model's vocabulary and the added tokens.
absl::Status ReadVocabulary(const Json& tokenizer, const Json& model,
                            model::TokenizerSpec& spec) {
  const Json* vocab = Field(model, "vocab");
  if (vocab == nullptr || !vocab->is_object()) {
    return absl::InvalidArgumentError("tokenizer.json: model.vocab is not an object");
  }
  std::map<int64_t, std::pair<std::string, model::TokenType>> by_id;
  auto put = [&](const std::string& text, const Json& id, model::TokenType type) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= (1 << 24)) {
      return absl::InvalidArgumentError(
          absl::StrCat("tokenizer.json: token '", text, "' has a bad id"));
    }
    auto [it, inserted] = by_id.try_emplace(id.get<int64_t>(), text, type);
    if (!inserted && it->second.first != text) {
      return absl::InvalidArgumentError(absl::StrCat("tokenizer.json: id ", id.get<int64_t>(),
                                                     " is both '", it->second.first, "' and '",
                                                     text, "'"));
    }
    it->second.second = type;
    return absl::OkStatus();
  };
  SM_ASSIGN_OR_RETURN(bool byte_fallback, Bool(model, "byte_fallback", kTokenizerJson, false));
  for (const auto& [text, id] : vocab->items()) {
    const bool byte = byte_fallback && text.size() == 6 && text.compare(0, 3, "<0x") == 0 &&
                      text[5] == '>';
    SM_RETURN_IF_ERROR(put(text, id, byte ? model::BYTE : model::NORMAL));
  }
  if (const Json* added = Field(tokenizer, "added_tokens"); added != nullptr) {
    if (!added->is_array()) {
      return absl::InvalidArgumentError("tokenizer.json: added_tokens is not a list");
    }
    for (const Json& a : *added) {
      SM_ASSIGN_OR_RETURN(std::string content, String(a, "content", "tokenizer.json added token"));
      SM_ASSIGN_OR_RETURN(bool special, Bool(a, "special", kTokenizerJson, false));
      const Json* id = Field(a, "id");
      if (id == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("tokenizer.json: added token '", content, "' has no id"));
      }
      SM_RETURN_IF_ERROR(put(content, *id, special ? model::CONTROL : model::USER_DEFINED));
    }
  }
  if (by_id.empty()) return absl::InvalidArgumentError("tokenizer.json: no tokens");
  const int64_t size = by_id.rbegin()->first + 1;
  if (static_cast<int64_t>(by_id.size()) != size) {
    for (int64_t id = 0; id < size; ++id) {
      if (!by_id.count(id)) {
        return absl::InvalidArgumentError(
            absl::StrCat("tokenizer.json: no token has id ", id, " (of ", size, ")"));
      }
    }
  }
  for (const auto& [id, token] : by_id) {
    spec.add_tokens(token.first);
    spec.add_token_types(token.second);
  }
  if (const Json* unk = Field(model, "unk_token"); unk != nullptr && unk->is_string()) {
    auto it = std::find_if(by_id.begin(), by_id.end(),
                           [&](const auto& t) { return t.second.first == *unk; });
    if (it != by_id.end()) {
      spec.set_unknown_id(static_cast<int32_t>(it->first));
      spec.set_token_types(static_cast<int>(it->first), model::UNKNOWN);
    }
  }
  const Json* merges = Field(model, "merges");
  if (merges != nullptr && !merges->is_array()) {
    return absl::InvalidArgumentError("tokenizer.json: model.merges is not a list");
  }
  for (size_t i = 0; merges != nullptr && i < merges->size(); ++i) {
    const Json& m = (*merges)[i];
    std::string merge;
    if (m.is_string()) {
      merge = m.get<std::string>();
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string() &&
               m[0].get<std::string>().find(' ') == std::string::npos &&
               m[1].get<std::string>().find(' ') == std::string::npos) {
      merge = absl::StrCat(m[0].get<std::string>(), " ", m[1].get<std::string>());
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("tokenizer.json: merge ", i, " is not a pair of tokens"));
    }
    spec.add_merges(std::move(merge));
  }
  return absl::OkStatus();
}

std::optional<int32_t> IdOf(const model::TokenizerSpec& spec, const std::string& text) {
  for (int id = 0; id < spec.tokens_size(); ++id) {
    if (spec.tokens(id) == text) return id;
  }
  return std::nullopt;
}

// BERT's WordPiece: BertNormalizer and BertPreTokenizer around a `##`
// vocabulary, kept in llama.cpp's form (`▁` on word starts, continuations
// bare) so that GGUF files and checkpoints tokenize alike; [CLS] and
// [SEP] from tokenizer_config.json (or by their usual names).
absl::Status ReadWordPiece(const Json& tokenizer, const Json& model, const Json* config,
                           model::TokenizerSpec& spec) {
  spec.set_kind(model::WORDPIECE);
  const Json* norm = Field(tokenizer, "normalizer");
  if (norm == nullptr || TypeOf(*norm) != "BertNormalizer") {
    return absl::UnimplementedError(absl::StrCat(
        "tokenizer.json: WordPiece with normalizer '", norm ? TypeOf(*norm) : "none",
        "' is not supported (BertNormalizer)"));
  }
  for (const char* key : {"clean_text", "handle_chinese_chars"}) {
    SM_ASSIGN_OR_RETURN(bool on, Bool(*norm, key, kTokenizerJson, true));
    if (!on) {
      return absl::UnimplementedError(
          absl::StrCat("tokenizer.json: BertNormalizer ", key, " false is not supported"));
    }
  }
  SM_ASSIGN_OR_RETURN(bool lowercase, Bool(*norm, "lowercase", kTokenizerJson, true));
  model::PreTokenizer& p = *spec.mutable_pre_tokenizer();
  p.set_lowercase(lowercase);
  const Json* strip = Field(*norm, "strip_accents");
  p.set_strip_accents(strip != nullptr && strip->is_boolean() ? strip->get<bool>() : lowercase);
  const Json* pre = Field(tokenizer, "pre_tokenizer");
  if (pre == nullptr || TypeOf(*pre) != "BertPreTokenizer") {
    return absl::UnimplementedError(absl::StrCat(
        "tokenizer.json: WordPiece with pre-tokenizer '", pre ? TypeOf(*pre) : "none",
        "' is not supported (BertPreTokenizer)"));
  }
  SM_ASSIGN_OR_RETURN(std::string prefix,
                      String(model, "continuing_subword_prefix", kTokenizerJson, "##"));
  SM_ASSIGN_OR_RETURN(double max_chars,
                      Number(model, "max_input_chars_per_word", kTokenizerJson, 100));
  if (prefix != "##" || max_chars != 100) {
    return absl::UnimplementedError(
        "tokenizer.json: WordPiece is supported with continuing_subword_prefix '##' and "
        "max_input_chars_per_word 100");
  }
  SM_RETURN_IF_ERROR(ReadVocabulary(tokenizer, model, spec));
  for (int id = 0; id < spec.tokens_size(); ++id) {
    if (spec.token_types(id) == model::CONTROL) continue;
    std::string& token = *spec.mutable_tokens(id);
    token = absl::StartsWith(token, "##") ? token.substr(2) : absl::StrCat("\xE2\x96\x81", token);
  }
  for (const auto& [key, fallback, set] :
       {std::tuple{"cls_token", "[CLS]", &model::TokenizerSpec::set_bos_id},
        std::tuple{"sep_token", "[SEP]", &model::TokenizerSpec::set_separator_id},
        std::tuple{"pad_token", "[PAD]", &model::TokenizerSpec::set_padding_id}}) {
    const std::string text =
        (config != nullptr ? SpecialTokenText(*config, key) : std::nullopt).value_or(fallback);
    const std::optional<int32_t> id = IdOf(spec, text);
    if (!id && std::string(key) != "pad_token") {
      return absl::InvalidArgumentError(
          absl::StrCat("tokenizer.json: the WordPiece vocabulary has no ", key, " '", text, "'"));
    }
    if (id) (spec.*set)(*id);
  }
  spec.set_add_bos(true);
  return absl::OkStatus();
}

// transformers' form of SentencePiece's remove_extra_whitespaces: a Replace
// of the regular expression " {2,}" by one space.
bool IsSpaceRunReplace(const Json& step) {
  const Json* pattern = Field(step, "pattern");
  const Json* regex = pattern != nullptr ? Field(*pattern, "Regex") : nullptr;
  const Json* content = Field(step, "content");
  return TypeOf(step) == "Replace" && regex != nullptr && *regex == " {2,}" &&
         content != nullptr && *content == " ";
}

// SentencePiece's Unigram (XLM-RoBERTa, T5) as transformers' converter
// writes it: the vocabulary a list of [piece, score] (an id is its place),
// a Precompiled normalizer (alone or before the Replace of space runs or
// the Strip that stand for SentencePiece's remove_extra_whitespaces), a
// Metaspace pre-tokenizer, and a TemplateProcessing post-processor whose
// first and last special tokens are BOS and EOS. Read into the form
// llama.cpp's converter gives a GGUF file, so the two tokenize alike.
absl::Status ReadUnigram(const Json& tokenizer, const Json& model, const Json* config,
                         model::TokenizerSpec& spec) {
  spec.set_kind(model::UNIGRAM);
  model::PreTokenizer& p = *spec.mutable_pre_tokenizer();
  bool remove_extra_whitespaces = false;
  for (const Json* n : Flatten(Field(tokenizer, "normalizer"), "normalizers")) {
    const std::string type = TypeOf(*n);
    if (type == "Precompiled") {
      SM_ASSIGN_OR_RETURN(std::string map,
                          String(*n, "precompiled_charsmap", kTokenizerJson));
      if (!absl::Base64Unescape(map, p.mutable_precompiled_charsmap())) {
        return absl::InvalidArgumentError(
            "tokenizer.json: precompiled_charsmap is not base64");
      }
    } else if (type == "Strip" || IsSpaceRunReplace(*n)) {
      remove_extra_whitespaces = true;
    } else if (type == "Replace") {
      // Any other replacement (ALBERT's `` -> ") is not SentencePiece's
      // whitespace rule, and would be silently lost.
      return absl::UnimplementedError(
          "tokenizer.json: Unigram with a Replace normalizer other than runs of spaces to one "
          "is not supported");
    } else {
      return absl::UnimplementedError(absl::StrCat(
          "tokenizer.json: Unigram with normalizer '", type,
          "' is not supported (Precompiled, Replace, Strip)"));
    }
  }
  p.set_remove_extra_whitespaces(remove_extra_whitespaces);
  bool metaspace = false;
  for (const Json* pre : Flatten(Field(tokenizer, "pre_tokenizer"), "pretokenizers")) {
    const std::string type = TypeOf(*pre);
    if (type == "Metaspace") {
      SM_ASSIGN_OR_RETURN(std::string replacement,
                          String(*pre, "replacement", kTokenizerJson, kSpaceMarker));
      SM_ASSIGN_OR_RETURN(std::string scheme,
                          String(*pre, "prepend_scheme", kTokenizerJson, "always"));
      SM_ASSIGN_OR_RETURN(bool add_prefix,
                          Bool(*pre, "add_prefix_space", kTokenizerJson, scheme != "never"));
      if (replacement != kSpaceMarker) {
        return absl::UnimplementedError("tokenizer.json: Metaspace replacement is not '▁'");
      }
      // Every stretch of text between special tokens gets its ▁ (as
      // SentencePiece and llama.cpp do); "first" would spare all but one.
      if (scheme != "always" && scheme != "never") {
        return absl::UnimplementedError(absl::StrCat(
            "tokenizer.json: Unigram with Metaspace prepend_scheme '", scheme,
            "' is not supported (always, never)"));
      }
      p.set_add_space_prefix(add_prefix && scheme != "never");
      metaspace = true;
    } else if (type != "WhitespaceSplit") {
      return absl::UnimplementedError(absl::StrCat(
          "tokenizer.json: Unigram with pre-tokenizer '", type,
          "' is not supported (Metaspace, WhitespaceSplit)"));
    }
  }
  if (!metaspace) {
    return absl::UnimplementedError("tokenizer.json: Unigram without a Metaspace pre-tokenizer");
  }
  const Json* vocab = Field(model, "vocab");
  if (vocab == nullptr || !vocab->is_array() || vocab->empty()) {
    return absl::InvalidArgumentError("tokenizer.json: Unigram model.vocab is not a list");
  }
  SM_ASSIGN_OR_RETURN(bool byte_fallback, Bool(model, "byte_fallback", kTokenizerJson, false));
  for (const Json& entry : *vocab) {
    if (!entry.is_array() || entry.size() != 2 || !entry[0].is_string() ||
        !entry[1].is_number()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tokenizer.json: Unigram vocabulary entry ", spec.tokens_size(),
          " is not [piece, score]"));
    }
    const std::string text = entry[0].get<std::string>();
    const bool byte = byte_fallback && text.size() == 6 && text.compare(0, 3, "<0x") == 0 &&
                      text[5] == '>';
    spec.add_tokens(text);
    spec.add_scores(entry[1].get<float>());
    spec.add_token_types(byte ? model::BYTE : model::NORMAL);
  }
  SM_ASSIGN_OR_RETURN(double unk, Number(model, "unk_id", kTokenizerJson, -1));
  if (unk >= spec.tokens_size() || (unk >= 0 && unk != static_cast<int32_t>(unk))) {
    return absl::InvalidArgumentError("tokenizer.json: unk_id is not an id in the vocabulary");
  }
  if (unk >= 0) {
    spec.set_unknown_id(static_cast<int32_t>(unk));
    spec.set_token_types(static_cast<int32_t>(unk), model::UNKNOWN);
  }
  if (const Json* added = Field(tokenizer, "added_tokens"); added != nullptr && added->is_array()) {
    for (const Json& a : *added) {
      SM_ASSIGN_OR_RETURN(std::string content, String(a, "content", "tokenizer.json added token"));
      SM_ASSIGN_OR_RETURN(bool special, Bool(a, "special", kTokenizerJson, false));
      const std::optional<int32_t> id = IdOf(spec, content);
      const Json* given = Field(a, "id");
      if (!id || given == nullptr || *given != *id) {
        return absl::InvalidArgumentError(absl::StrCat(
            "tokenizer.json: added token '", content, "' is not that id in the vocabulary"));
      }
      if (spec.token_types(*id) != model::UNKNOWN) {
        spec.set_token_types(*id, special ? model::CONTROL : model::USER_DEFINED);
      }
    }
  }
  // BOS and EOS: the post-processor's first and last special tokens, or
  // tokenizer_config.json's.
  std::optional<std::string> first, last;
  if (const Json* post = Field(tokenizer, "post_processor");
      post != nullptr && TypeOf(*post) == "TemplateProcessing") {
    if (const Json* single = Field(*post, "single"); single != nullptr && single->is_array()) {
      for (size_t i = 0; i < single->size(); ++i) {
        const Json* special = Field((*single)[i], "SpecialToken");
        const Json* id = special != nullptr ? Field(*special, "id") : nullptr;
        if (id == nullptr || !id->is_string()) continue;
        if (i == 0) first = id->get<std::string>();
        if (i + 1 == single->size()) last = id->get<std::string>();
      }
    }
  }
  for (const auto& [key, from_template, set] :
       {std::tuple{"bos_token", first, &model::TokenizerSpec::set_bos_id},
        std::tuple{"eos_token", last, &model::TokenizerSpec::set_eos_id},
        std::tuple{"sep_token", last, &model::TokenizerSpec::set_separator_id}}) {
    std::optional<std::string> text = from_template;
    if (config != nullptr && SpecialTokenText(*config, key)) text = SpecialTokenText(*config, key);
    if (!text) continue;
    const std::optional<int32_t> id = IdOf(spec, *text);
    if (!id) {
      return absl::InvalidArgumentError(
          absl::StrCat("tokenizer.json: ", key, " '", *text, "' is not in the vocabulary"));
    }
    (spec.*set)(*id);
  }
  spec.set_add_bos(first.has_value() && spec.has_bos_id());
  spec.set_add_eos(last.has_value() && spec.has_eos_id());
  return absl::OkStatus();
}

// BOS, EOS, whether BOS is added, and the chat template.
absl::Status ReadConfig(const Json& tokenizer, const Json& config, model::TokenizerSpec& spec) {
  const char* what = "tokenizer_config.json";
  for (const auto& [key, set] :
       {std::pair<const char*, void (model::TokenizerSpec::*)(int32_t)>{
            "bos_token", &model::TokenizerSpec::set_bos_id},
        {"eos_token", &model::TokenizerSpec::set_eos_id}}) {
    const std::optional<std::string> text = SpecialTokenText(config, key);
    if (!text) continue;
    const std::optional<int32_t> id = IdOf(spec, *text);
    if (!id) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": ", key, " '", *text, "' is not in the vocabulary"));
    }
    (spec.*set)(*id);
  }
  // BOS is added where the config says so, else where tokenizer.json's
  // post-processor puts a special token first (Llama 2, Gemma).
  bool add_bos = false;
  if (const Json* post = Field(tokenizer, "post_processor");
      post != nullptr && TypeOf(*post) == "TemplateProcessing") {
    const Json* single = Field(*post, "single");
    add_bos = single != nullptr && single->is_array() && !single->empty() &&
              Field((*single)[0], "SpecialToken") != nullptr;
  }
  SM_ASSIGN_OR_RETURN(add_bos, Bool(config, "add_bos_token", what, add_bos));
  spec.set_add_bos(add_bos && spec.has_bos_id());
  SM_ASSIGN_OR_RETURN(bool add_eos, Bool(config, "add_eos_token", what, false));
  spec.set_add_eos(add_eos && spec.has_eos_id());
  if (const Json* t = Field(config, "chat_template"); t != nullptr) {
    if (t->is_string()) {
      spec.set_chat_template(t->get<std::string>());
    } else if (t->is_array()) {
      // Named templates: the default one.
      for (const Json& named : *t) {
        if (Field(named, "name") != nullptr && named["name"] == "default" &&
            Field(named, "template") != nullptr && named["template"].is_string()) {
          spec.set_chat_template(named["template"].get<std::string>());
        }
      }
    } else {
      return absl::InvalidArgumentError(absl::StrCat(what, ": chat_template is not text"));
    }
  }
  return absl::OkStatus();
}

// generation_config.json's eos_token_id: one id or a list.
absl::Status ReadGenerationConfig(const Json& config, model::TokenizerSpec& spec) {
  const Json* eos = Field(config, "eos_token_id");
  if (eos == nullptr) return absl::OkStatus();
  std::vector<Json> ids = eos->is_array() ? std::vector<Json>(eos->begin(), eos->end())
                                          : std::vector<Json>{*eos};
  for (const Json& id : ids) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 ||
        id.get<int64_t>() >= spec.tokens_size()) {
      return absl::InvalidArgumentError(
          "generation_config.json: eos_token_id is not an id in the vocabulary");
    }
    spec.add_end_of_generation_ids(static_cast<int32_t>(id.get<int64_t>()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<model::TokenizerSpec> TokenizerFromHf(const HfTokenizerFiles& files) {
  SM_ASSIGN_OR_RETURN(Json tokenizer, ParseJson(files.tokenizer_json, kTokenizerJson));
  const Json* model = Field(tokenizer, "model");
  if (model == nullptr || !model->is_object()) {
    return absl::InvalidArgumentError("tokenizer.json has no model");
  }
  SM_ASSIGN_OR_RETURN(std::string type, String(*model, "type", kTokenizerJson, "BPE"));
  if (type != "BPE" && type != "WordPiece" && type != "Unigram") {
    return absl::UnimplementedError(absl::StrCat(
        "tokenizer.json: model type '", type, "' is not supported (BPE, WordPiece, Unigram)"));
  }
  std::optional<Json> config;
  if (!files.tokenizer_config_json.empty()) {
    SM_ASSIGN_OR_RETURN(config, ParseJson(files.tokenizer_config_json, "tokenizer_config.json"));
  }
  model::TokenizerSpec spec;
  if (type == "WordPiece") {
    SM_RETURN_IF_ERROR(ReadWordPiece(tokenizer, *model, config ? &*config : nullptr, spec));
  } else if (type == "Unigram") {
    SM_RETURN_IF_ERROR(ReadUnigram(tokenizer, *model, config ? &*config : nullptr, spec));
  } else {
    SM_RETURN_IF_ERROR(ReadPipeline(tokenizer, *model, spec));
    SM_RETURN_IF_ERROR(ReadVocabulary(tokenizer, *model, spec));
    if (config) SM_RETURN_IF_ERROR(ReadConfig(tokenizer, *config, spec));
  }
  if (!files.generation_config_json.empty()) {
    SM_ASSIGN_OR_RETURN(Json config,
                        ParseJson(files.generation_config_json, "generation_config.json"));
    SM_RETURN_IF_ERROR(ReadGenerationConfig(config, spec));
  }
  AddEndOfTurnIds(spec);
  // What the runtime would refuse, refused here, with the file named.
  absl::StatusOr<std::unique_ptr<text::Tokenizer>> check = text::Tokenizer::Create(spec);
  if (!check.ok()) {
    return core::Prefixed(check.status(), "tokenizer.json");
  }
  return spec;
}

absl::StatusOr<HfTokenizerFiles> ReadHfTokenizerFiles(const std::string& directory) {
  HfTokenizerFiles files;
  SM_ASSIGN_OR_RETURN(files.tokenizer_json,
                      core::ReadFileToString(directory + "/" + kTokenizerJson));
  for (const auto& [name, out] :
       {std::pair<const char*, std::string*>{"tokenizer_config.json",
                                             &files.tokenizer_config_json},
        {"generation_config.json", &files.generation_config_json}}) {
    absl::StatusOr<std::string> text = core::ReadFileToString(directory + "/" + name);
    if (text.ok()) {
      *out = std::move(*text);
    } else if (!absl::IsNotFound(text.status())) {
      return text.status();
    }
  }
  return files;
}

absl::StatusOr<model::TokenizerSpec> TokenizerFromGpt2Files(absl::string_view vocab_text,
                                                              absl::string_view merges,
                                                              int64_t vocab) {
  // vocab.json maps token -> id; merges.txt lists merges after a "#version"
  // line.
  SM_ASSIGN_OR_RETURN(Json vocab_json, ParseJson(vocab_text, "vocab.json"));
  if (!vocab_json.is_object()) {
    return absl::InvalidArgumentError("vocab.json is not an object");
  }
  std::vector<std::string> tokens(vocab);
  std::vector<bool> seen(vocab);
  for (const auto& [token, id] : vocab_json.items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 ||
        id.get<int64_t>() >= vocab || seen[id.get<int64_t>()]) {
      return absl::InvalidArgumentError(absl::StrCat(
          "vocab.json: token '", token, "' has a bad or repeated id"));
    }
    tokens[id.get<int64_t>()] = token;
    seen[id.get<int64_t>()] = true;
  }
  model::TokenizerSpec tok;
  tok.set_kind(model::GPT2_BPE);
  for (int64_t id = 0; id < vocab; ++id) {
    // Ids vocab.json leaves out (padding up to vocab_size) get a name that
    // no text encodes to.
    tok.add_tokens(seen[id] ? tokens[id] : absl::StrCat("<|unused", id, "|>"));
    tok.add_token_types(seen[id] ? model::NORMAL : model::UNUSED);
  }
  for (absl::string_view line : absl::StrSplit(merges, '\n')) {
    line = absl::StripTrailingAsciiWhitespace(line);
    if (line.empty() || absl::StartsWith(line, "#version")) continue;
    tok.add_merges(std::string(line));
  }
  if (auto it = vocab_json.find("<|endoftext|>"); it != vocab_json.end()) {
    tok.set_eos_id(it->get<int>());
    tok.set_bos_id(it->get<int>());
  }
  tok.set_add_bos(false);
  return tok;
}

}  // namespace smallmind::formats

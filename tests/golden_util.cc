#include "tests/golden_util.h"

#include <cmath>
#include <cstdio>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "backends/registry.h"
#include "core/status.h"
#include "formats/open.h"
#include "runtime/transformer.h"

namespace smallmind::golden {

absl::StatusOr<Golden> LoadGolden(const std::string& name) {
  Golden g;
  const std::string base = "tests/golden/" + name;
  SM_ASSIGN_OR_RETURN(g.model, formats::OpenModel(base + ".smm"));
  const auto& metadata = g.model->description().metadata();
  auto it = metadata.find("golden.tokens");
  if (it == metadata.end()) {
    return absl::InvalidArgumentError(base + ".smm has no golden.tokens");
  }
  auto ids = [&](const std::string& key, std::vector<int32_t>* out) -> absl::Status {
    auto found = metadata.find(key);
    if (found == metadata.end()) return absl::OkStatus();
    for (absl::string_view t : absl::StrSplit(found->second, ',')) {
      int32_t id;
      if (!absl::SimpleAtoi(t, &id)) {
        return absl::InvalidArgumentError(absl::StrCat(key, ": bad token id ", t));
      }
      out->push_back(id);
    }
    return absl::OkStatus();
  };
  SM_RETURN_IF_ERROR(ids("golden.tokens", &g.tokens));
  SM_RETURN_IF_ERROR(ids("golden.prompt", &g.prompt));
  SM_RETURN_IF_ERROR(ids("golden.continuation", &g.continuation));
  g.logits.resize(g.tokens.size() * g.model->arch().vocab_size());
  std::FILE* f = std::fopen((base + ".logits").c_str(), "rb");
  if (f == nullptr) return absl::NotFoundError("no " + base + ".logits");
  const size_t read = std::fread(g.logits.data(), 4, g.logits.size(), f);
  std::fclose(f);
  if (read != g.logits.size()) {
    return absl::InvalidArgumentError(base + ".logits is short");
  }
  return g;
}

absl::StatusOr<std::vector<float>> Logits(const model::Model& model,
                                          const std::vector<int32_t>& tokens,
                                          const std::string& backend_name, int threads) {
  SM_ASSIGN_OR_RETURN(const backends::Backend* backend,
                      backends::Registry::Get(backend_name, model.weight_dtype()));
  SM_ASSIGN_OR_RETURN(std::unique_ptr<runtime::Transformer> t,
                      runtime::Transformer::Create(model, *backend));
  const int64_t n = tokens.size();
  core::ThreadPool pool(threads);
  SM_ASSIGN_OR_RETURN(core::Arena arena,
                      core::Arena::Create(t->ScratchBytes(n, threads)));
  SM_ASSIGN_OR_RETURN(runtime::KvCache cache,
                      runtime::KvCache::Create(model.arch(), n, runtime::KvTypes::Exact()));
  std::vector<float> logits(n * model.arch().vocab_size());
  SM_RETURN_IF_ERROR(t->Forward(tokens, 0, cache, arena, pool, logits.data(), true));
  return logits;
}

absl::StatusOr<float> MaxLogitError(const model::Model& model,
                                    const Golden& golden,
                                    const std::string& backend_name,
                                    int threads) {
  if (model.arch().vocab_size() != golden.model->arch().vocab_size()) {
    return absl::InvalidArgumentError("vocabulary sizes differ");
  }
  SM_ASSIGN_OR_RETURN(std::vector<float> logits,
                      Logits(model, golden.tokens, backend_name, threads));
  float worst = 0;
  for (size_t i = 0; i < logits.size(); ++i) {
    worst = std::max(worst, std::abs(logits[i] - golden.logits[i]));
  }
  return worst;
}

}  // namespace smallmind::golden

#include "training/trainer.h"

#include <chrono>
#include <cstdio>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "backends/registry.h"
#include "core/file_util.h"
#include "core/status.h"
#include "formats/open.h"
#include "model/model.h"
#include "model/presets.h"
#include "text/tokenizer.h"
#include "training/data.h"
#include "training/gpt.h"

namespace smallmind::training {
namespace {

using Clock = std::chrono::steady_clock;

// Mean loss over `batches` fixed windows of `data` (the same windows every
// time, so validation losses are comparable across steps).
absl::StatusOr<double> Evaluate(Gpt& model, const std::vector<int32_t>& data,
                                int64_t batches) {
  std::mt19937_64 rng(12345);
  std::vector<int32_t> tokens, targets;
  double total = 0;
  for (int64_t i = 0; i < batches; ++i) {
    SampleBatch(data, model.batch(), model.seq(), rng, tokens, targets);
    SM_ASSIGN_OR_RETURN(double loss, model.Step(tokens, targets, false));
    total += loss;
  }
  return total / batches;
}

}  // namespace

absl::StatusOr<TrainSummary> Train(
    const TrainOptions& options,
    const std::function<void(const TrainProgress&)>& on_progress) {
  if (options.output.empty()) {
    return absl::InvalidArgumentError("no output checkpoint path");
  }
  if (options.steps < 1 || options.eval_every < 1 || options.eval_batches < 1) {
    return absl::InvalidArgumentError("steps, eval_every and eval_batches must be >= 1");
  }
  SM_ASSIGN_OR_RETURN(std::string text, ReadCorpus(options.data));

  // The architecture and vocabulary: from the checkpoint when resuming,
  // else the preset's shape with the data's characters as its vocabulary.
  model::Architecture arch;
  model::TokenizerSpec vocabulary;
  std::unique_ptr<model::Model> resumed;
  if (!options.resume.empty()) {
    SM_ASSIGN_OR_RETURN(resumed, formats::OpenModel(options.resume));
    arch = resumed->arch();
    vocabulary = resumed->description().tokenizer();
  } else {
    SM_ASSIGN_OR_RETURN(model::Preset preset, model::FindPreset(options.preset));
    arch = preset.arch;
    vocabulary = CharVocabulary(text);
    arch.set_vocab_size(vocabulary.tokens_size());
  }
  SM_ASSIGN_OR_RETURN(std::unique_ptr<text::Tokenizer> tokenizer,
                      text::Tokenizer::Create(vocabulary));
  const int64_t seq = options.seq > 0 ? options.seq : arch.context_length();
  SM_ASSIGN_OR_RETURN(Dataset data,
                      MakeDataset(text, *tokenizer, options.validation_fraction, seq));

  SM_ASSIGN_OR_RETURN(const backends::Backend* backend,
                      backends::Registry::Select(options.backend, core::DType::kF32));
  core::ThreadPool pool(options.threads);
  SM_ASSIGN_OR_RETURN(std::unique_ptr<Gpt> model,
                      Gpt::Create(arch, *backend, pool, options.batch, seq));
  AdamW optimizer(options.optimizer, model->params().size());
  if (resumed != nullptr) {
    SM_RETURN_IF_ERROR(model->LoadWeights(*resumed));
    // Without the optimizer state beside it, a checkpoint resumes with
    // fresh moments at step 0.
    absl::StatusOr<std::string> state =
        core::ReadFileToString(options.resume + ".optim");
    if (state.ok()) SM_RETURN_IF_ERROR(optimizer.Deserialize(*state));
  } else {
    model->InitRandom(options.seed);
  }

  TrainSummary summary;
  summary.parameters = model->params().size();
  summary.vocab = arch.vocab_size();
  summary.train_tokens = data.train.size();
  summary.validation_tokens = data.validation.size();
  summary.unigram_loss = UnigramLoss(data.train, data.validation, arch.vocab_size());

  std::string csv = "step,train_loss,val_loss,learning_rate\n";
  std::mt19937_64 rng(options.seed + optimizer.step());
  std::vector<int32_t> tokens, targets;
  const int64_t first_step = optimizer.step();
  const Clock::time_point start = Clock::now();
  int64_t tokens_seen = 0;
  SM_ASSIGN_OR_RETURN(summary.first_val_loss,
                      Evaluate(*model, data.validation, options.eval_batches));
  summary.final_val_loss = summary.first_val_loss;

  auto checkpoint = [&]() -> absl::Status {
    SM_RETURN_IF_ERROR(model->Save(
        options.output, vocabulary,
        {{"train.steps", absl::StrCat(optimizer.step())},
         {"train.data", options.data},
         {"train.val_loss", absl::StrFormat("%.4f", summary.final_val_loss)}}));
    SM_RETURN_IF_ERROR(core::WriteStringToFile(options.output + ".optim", optimizer.Serialize()));
    return core::WriteStringToFile(options.output + ".loss.csv", csv);
  };

  for (int64_t step = first_step; step < options.steps; ++step) {
    SampleBatch(data.train, options.batch, seq, rng, tokens, targets);
    SM_ASSIGN_OR_RETURN(double loss, model->Step(tokens, targets, true));
    const float lr = LearningRate(options.optimizer, optimizer.step());
    optimizer.Step(model->params(), model->grads(), model->tensors());
    tokens_seen += options.batch * seq;

    TrainProgress p;
    p.step = step + 1;
    p.steps = options.steps;
    p.loss = loss;
    p.learning_rate = lr;
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    p.tokens_per_second = tokens_seen / elapsed;
    p.eta_seconds = elapsed / (step + 1 - first_step) * (options.steps - step - 1);
    summary.final_train_loss = loss;
    if (p.step % options.eval_every == 0 || p.step == options.steps) {
      SM_ASSIGN_OR_RETURN(double val, Evaluate(*model, data.validation, options.eval_batches));
      p.val_loss = val;
      summary.final_val_loss = val;
    }
    absl::StrAppendFormat(&csv, "%d,%.5f,%s,%.6g\n", p.step, loss,
                          p.val_loss ? absl::StrFormat("%.5f", *p.val_loss) : "", lr);
    if (p.val_loss) SM_RETURN_IF_ERROR(checkpoint());
    if (on_progress) on_progress(p);
  }
  summary.steps_run = options.steps - first_step;
  summary.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  summary.tokens_per_second = summary.seconds > 0 ? tokens_seen / summary.seconds : 0;
  if (summary.steps_run == 0) SM_RETURN_IF_ERROR(checkpoint());
  return summary;
}

}  // namespace smallmind::training

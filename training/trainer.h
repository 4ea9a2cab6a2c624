// The training loop behind `smallmind train`: data, model, AdamW, periodic
// validation, checkpoints in the model-file format (with the optimizer state
// beside them for --resume), and the loss curve as CSV and SVG.
#ifndef SMALLMIND_TRAINING_TRAINER_H_
#define SMALLMIND_TRAINING_TRAINER_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "core/field_info.h"
#include "training/optimizer.h"

namespace smallmind::training {

struct TrainOptions {
  std::string data;              // a text file or a directory of them
  std::string preset = "small";  // architecture; vocabulary from the data
  std::string output;            // checkpoint path (.smm)
  std::string resume;            // a checkpoint to continue from
  int64_t steps = 2000;
  int64_t batch = 16;
  int64_t seq = 0;               // 0: the preset's context
  int64_t eval_every = 200;      // steps between validation losses
  int64_t eval_batches = 8;
  double validation_fraction = 0.05;
  uint64_t seed = 1;
  int threads = 1;
  std::string backend;           // for the matmuls; empty: auto
  OptimizerOptions optimizer;

  template <class Visitor>
  void VisitFields(Visitor&& v) {
    v(data, {"data", 0, nullptr, "a text file, or a directory of text files"});
    v(preset, {"preset", 0, nullptr,
               "architecture (small, medium); the vocabulary comes from the data"});
    v(output, {"output", 'o', nullptr, "checkpoint to write"});
    v(resume, {"resume", 0, nullptr, "checkpoint to continue from"});
    v(steps, {"steps", 0, nullptr, "total optimizer steps"});
    v(batch, {"batch", 0, nullptr, "sequences per step"});
    v(seq, {"seq", 0, nullptr, "tokens per sequence; 0: the context length"});
    v(eval_every, {"eval-every", 0, nullptr, "steps between validation losses"});
    v(eval_batches, {"eval-batches", 0, nullptr, "batches per validation loss"});
    v(validation_fraction, {"validation-fraction", 0, nullptr,
                            "share of the data held out for validation"});
    v(seed, {"seed", 's', nullptr, "seed for initialisation and batches"});
    v(threads, {"threads", 't', nullptr, "threads, the calling thread included"});
    v(backend, {"backend", 0, nullptr, "matmul backend; empty: auto"});
    optimizer.VisitFields(v);
  }
};

struct TrainProgress {
  int64_t step = 0, steps = 0;
  double loss = 0;                    // this step's training loss
  std::optional<double> val_loss;     // when validated at this step
  float learning_rate = 0;
  double tokens_per_second = 0;       // over the run so far
  double eta_seconds = 0;
};

struct TrainSummary {
  int64_t parameters = 0;
  int64_t vocab = 0;
  int64_t train_tokens = 0, validation_tokens = 0;
  double unigram_loss = 0;  // the baseline to beat, nats per token
  double first_val_loss = 0, final_val_loss = 0, final_train_loss = 0;
  double seconds = 0;
  double tokens_per_second = 0;
  int64_t steps_run = 0;
};

absl::StatusOr<TrainSummary> Train(
    const TrainOptions& options,
    const std::function<void(const TrainProgress&)>& on_progress);

}  // namespace smallmind::training

#endif  // SMALLMIND_TRAINING_TRAINER_H_

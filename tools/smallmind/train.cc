// smallmind train: train a GPT-2-style model on text, writing checkpoints
// that `generate` loads directly.
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_format.h"
#include "tools/smallmind/commands.h"
#include "training/trainer.h"

ABSL_FLAG(std::string, data, "", "a text file, or a directory of text files");
ABSL_FLAG(std::string, train_preset, "small",
          "architecture (small, medium); the vocabulary comes from the data");
ABSL_FLAG(std::string, train_output, "model.smm", "checkpoint to write");
ABSL_FLAG(std::string, resume, "", "checkpoint to continue from");
ABSL_FLAG(int64_t, steps, 2000, "total optimizer steps");
ABSL_FLAG(int64_t, batch, 16, "sequences per step");
ABSL_FLAG(int64_t, seq, 0, "tokens per sequence; 0: the context length");
ABSL_FLAG(float, lr, 1e-3f, "peak learning rate");
ABSL_FLAG(int64_t, warmup, 100, "learning-rate warmup steps");
ABSL_FLAG(float, weight_decay, 0.1f, "AdamW weight decay");
ABSL_FLAG(int64_t, eval_every, 200, "steps between validation losses");
ABSL_FLAG(int64_t, eval_batches, 8, "batches per validation loss");
ABSL_FLAG(uint64_t, train_seed, 1, "seed for initialisation and batches");

namespace smallmind::cli {
namespace {

std::string Duration(double seconds) {
  const int s = static_cast<int>(seconds + 0.5);
  return s >= 60 ? absl::StrFormat("%dm%02ds", s / 60, s % 60) : absl::StrFormat("%ds", s);
}

int Run(const Args& args) {
  if (!args.positional.empty()) {
    return Fail("train", absl::InvalidArgumentError("unexpected argument " +
                                                    args.positional[0]));
  }
  training::TrainOptions o;
  o.data = absl::GetFlag(FLAGS_data);
  if (o.data.empty()) {
    return Fail("train", absl::InvalidArgumentError("no data; use --data PATH"));
  }
  o.preset = absl::GetFlag(FLAGS_train_preset);
  o.output = absl::GetFlag(FLAGS_train_output);
  o.resume = absl::GetFlag(FLAGS_resume);
  o.steps = absl::GetFlag(FLAGS_steps);
  o.batch = absl::GetFlag(FLAGS_batch);
  o.seq = absl::GetFlag(FLAGS_seq);
  o.eval_every = absl::GetFlag(FLAGS_eval_every);
  o.eval_batches = absl::GetFlag(FLAGS_eval_batches);
  o.seed = absl::GetFlag(FLAGS_train_seed);
  o.threads = absl::GetFlag(FLAGS_threads);
  o.backend = absl::GetFlag(FLAGS_backend);
  o.optimizer.learning_rate = absl::GetFlag(FLAGS_lr);
  o.optimizer.warmup_steps = absl::GetFlag(FLAGS_warmup);
  o.optimizer.weight_decay = absl::GetFlag(FLAGS_weight_decay);
  o.optimizer.total_steps = o.steps;

  double last_val = 0;
  absl::StatusOr<training::TrainSummary> s =
      training::Train(o, [&](const training::TrainProgress& p) {
        if (p.val_loss) last_val = *p.val_loss;
        constexpr int kWidth = 24;
        const int filled = static_cast<int>(kWidth * p.step / p.steps);
        absl::FPrintF(stderr,
                      "\r[%s%s] step %d/%d  loss %.3f  val %.3f  lr %.1e  "
                      "%.0f tok/s  ETA %s   ",
                      std::string(filled, '#'), std::string(kWidth - filled, '.'),
                      p.step, p.steps, p.loss, last_val, p.learning_rate,
                      p.tokens_per_second, Duration(p.eta_seconds));
        if (p.val_loss) absl::FPrintF(stderr, "\n");
      });
  absl::FPrintF(stderr, "\n");
  if (!s.ok()) return Fail("train", s.status());
  absl::PrintF(
      "trained %s: %d parameters, vocabulary of %d characters\n"
      "data: %d training tokens, %d validation tokens\n"
      "validation loss: %.4f at start, %.4f at the end; unigram baseline "
      "%.4f (nats/token)\n"
      "%d steps in %s: %.0f tokens/s\n"
      "wrote %s (+ .optim, .loss.csv, .loss.svg)\n",
      o.preset, s->parameters, s->vocab, s->train_tokens, s->validation_tokens,
      s->first_val_loss, s->final_val_loss, s->unigram_loss, s->steps_run,
      Duration(s->seconds), s->tokens_per_second, o.output);
  return 0;
}

}  // namespace

Command TrainCommand() {
  return {"train",
          "smallmind train --data PATH [--preset small] [--steps 2000] "
          "[--batch 16] [-o model.smm] [--resume CKPT]",
          "train a GPT-2-style model on text (character vocabulary)",
          {{nullptr, "data", "data"},
           {nullptr, "preset", "train_preset"},
           {"o", "output", "train_output"},
           {nullptr, "resume", "resume"},
           {nullptr, "steps", "steps"},
           {nullptr, "batch", "batch"},
           {nullptr, "seq", "seq"},
           {nullptr, "lr", "lr"},
           {nullptr, "warmup", "warmup"},
           {nullptr, "weight-decay", "weight_decay"},
           {nullptr, "eval-every", "eval_every"},
           {nullptr, "eval-batches", "eval_batches"},
           {"s", "seed", "train_seed"},
           {"t", "threads", "threads"},
           {nullptr, "backend", "backend"}},
          Run};
}

}  // namespace smallmind::cli

// smallmind train: train a GPT-2-style model on text, writing checkpoints
// that `generate` loads directly, and the loss curve as an SVG chart.
#include <cstdio>
#include <string>

#include "absl/strings/str_format.h"
#include "core/file_util.h"
#include "report/svg.h"
#include "tools/smallmind/commands.h"
#include "training/trainer.h"

namespace smallmind::cli {
namespace {

std::string Duration(double seconds) {
  const int s = static_cast<int>(seconds + 0.5);
  return s >= 60 ? absl::StrFormat("%dm%02ds", s / 60, s % 60) : absl::StrFormat("%ds", s);
}

int Run(const std::vector<std::string>& argv) {
  training::TrainOptions o;
  o.output = "model.smm";
  Flags flags;
  flags.Add(o);
  std::vector<std::string> positional;
  if (int code; !ParseFlags(TrainCommand(), flags, argv, &positional, &code)) return code;
  if (!positional.empty()) {
    return Fail("train", absl::InvalidArgumentError("unexpected argument " + positional[0]));
  }
  if (o.data.empty()) {
    return Fail("train", absl::InvalidArgumentError("no data; use --data PATH"));
  }
  o.optimizer.total_steps = o.steps;

  double last_val = 0;
  report::Series train_curve{"train loss", {}}, val_curve{"validation loss", {}};
  absl::StatusOr<training::TrainSummary> s =
      training::Train(o, [&](const training::TrainProgress& p) {
        train_curve.points.push_back({static_cast<double>(p.step), p.loss});
        if (p.val_loss) {
          last_val = *p.val_loss;
          val_curve.points.push_back({static_cast<double>(p.step), *p.val_loss});
        }
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
  const absl::Status chart = core::WriteStringToFile(
      o.output + ".loss.svg",
      report::LineChartSvg("SmallMind training loss", "step", "cross-entropy (nats/token)",
                           {train_curve, val_curve}));
  if (!chart.ok()) return Fail("train", chart);
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
          "train a GPT-2-style model on text (character vocabulary)", Run};
}

}  // namespace smallmind::cli

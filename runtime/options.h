// The options of loading, sessions, generation and sampling, each field
// declared once with its flag, its request key and its help (see
// core/field_info.h). The `smallmind` command, the public API and the HTTP
// server all take these structs, so an option exists in all three or none.
#ifndef SMALLMIND_RUNTIME_OPTIONS_H_
#define SMALLMIND_RUNTIME_OPTIONS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "core/field_info.h"

namespace smallmind::runtime {

// Defaults are llama.cpp's. Applied in its order: penalties -> top-k ->
// top-p -> min-p -> temperature -> draw.
struct SamplerOptions {
  float temperature = 0.8f;  // <= 0: greedy
  int32_t top_k = 40;        // <= 0: off
  float top_p = 0.95f;       // >= 1: off
  float min_p = 0.05f;       // <= 0: off
  float repeat_penalty = 1.0f;  // 1: off; > 1 discourages repeats
  int32_t repeat_last_n = 64;   // window of recent tokens penalised
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  // Added to the logits after the penalties, as llama.cpp's --logit-bias:
  // "TOKEN_ID+BIAS" or "TOKEN_ID-BIAS", BIAS a number or inf ("15043-inf"
  // never samples 15043).
  std::vector<std::string> logit_bias;
  int64_t seed = -1;  // -1: from the clock; else same seed, same tokens

  template <class Visitor>
  void VisitFields(Visitor&& v) {
    v(temperature, {"temp", 0, "temperature", "temperature; 0 is greedy"});
    v(top_k, {"top-k", 0, "top_k", "top-k sampling; 0 is off"});
    v(top_p, {"top-p", 0, "top_p", "top-p (nucleus) sampling; 1.0 is off"});
    v(min_p, {"min-p", 0, "min_p", "min-p sampling; 0.0 is off"});
    v(repeat_penalty, {"repeat-penalty", 0, "repeat_penalty",
                       "penalty for repeated tokens; 1.0 is off"});
    v(repeat_last_n, {"repeat-last-n", 0, "repeat_last_n",
                      "tokens the penalties look back over"});
    v(presence_penalty, {"presence-penalty", 0, "presence_penalty",
                         "subtracted once from every token seen; 0.0 is off"});
    v(frequency_penalty, {"frequency-penalty", 0, "frequency_penalty",
                          "subtracted per occurrence of a token seen; 0.0 is off"});
    v(logit_bias, {"logit-bias", 'l', "logit_bias",
                   "TOKEN_ID+BIAS or TOKEN_ID-BIAS added to a token's logit (-inf: never); "
                   "may be given more than once"});
    v(seed, {"seed", 's', "seed", "random seed; -1 picks one from the clock"});
  }
};

struct GenerateOptions {
  int32_t max_tokens = 128;  // stops earlier at EOS, a stop string or a full
                             // context
  std::vector<std::string> stop;  // generation ends before any of these
  // When the context fills, keep its last half and go on (re-running those
  // tokens from position 0), as llama.cpp's context shift does; otherwise
  // stop.
  bool context_shift = true;
  // A prompt longer than the free context is an error, unless this is set:
  // then its first token is kept if it is BOS, and otherwise only its tail,
  // leaving a quarter of the free context for generation.
  bool truncate_prompt = false;
  // Control tokens written in the prompt (a chat template's <|im_start|>)
  // become their ids; otherwise they are text, as user text must be.
  bool parse_special = false;
  // Go on past end-of-generation tokens (llama.cpp's ignore_eos; for
  // benchmarks that want every request to generate max_tokens).
  bool ignore_eos = false;
  // A GBNF grammar (llama.cpp's format) the generated text follows: tokens
  // it does not allow are never sampled, end-of-generation is allowed only
  // where it may end, and generation stops once it cannot go on. Empty:
  // free text. (The command's --grammar-file and --json-schema, and the
  // server's response_format, fill it.)
  std::string grammar;
  // Report each sampled token's log probability and the `logprobs` most
  // likely tokens' (up to kMaxLogprobs) to the token callback; -1: none.
  // Log-softmax of the model's logits, before penalties, grammar and
  // temperature, as OpenAI defines them.
  int32_t logprobs = -1;
  // With logprobs: the prompt's tokens' too, each given the ones before it
  // (OpenAI's echo; what evaluation harnesses score). The whole prompt then
  // runs, none of it taken from the KV cache.
  bool prompt_logprobs = false;
  SamplerOptions sampler;

  template <class Visitor>
  void VisitFields(Visitor&& v) {
    v(max_tokens, {"n-predict", 'n', "max_tokens", "tokens to generate"});
    v(stop, {"stop", 0, "stop", "stop before this text; may be given more than once"});
    v(context_shift, {"context-shift", 0, "context_shift",
                      "when the context fills, keep its last half and go on"});
    v(truncate_prompt, {"truncate-prompt", 0, "truncate_prompt",
                        "keep the tail of a prompt longer than the context instead "
                        "of failing"});
    v(parse_special, {"parse-special", 0, "parse_special",
                      "control tokens written in the prompt (<|im_start|>) become their ids"});
    v(ignore_eos, {"ignore-eos", 0, "ignore_eos", "go on past end-of-generation tokens"});
    v(grammar, {"grammar", 0, "grammar", "GBNF grammar (llama.cpp's format) the output follows"});
    v(logprobs, {"logprobs", 0, "logprobs",
                 "print each token's log probability and this many alternatives' (0-20); -1: off"});
    v(prompt_logprobs, {"prompt-logprobs", 0, "prompt_logprobs",
                        "with --logprobs, the prompt's tokens' too"});
    sampler.VisitFields(v);
  }
};

struct SessionOptions {
  int32_t threads = 1;    // pool size, the calling thread included
  int64_t context = 0;    // KV cache positions; 0: the model's context
  int64_t batch = 256;    // prompt tokens per forward pass
  // Pin the pool's threads to cores of their own (and the creating thread
  // to the rest) for as long as the session lives. Off by default: a
  // library must not move its caller's threads unless asked, and on a busy
  // machine a pinned thread cannot leave a core another process holds.
  bool pin_threads = false;
  // How the KV cache stores keys and values (runtime::ParseKvTypes);
  // runtime::KvTypes says why f16.
  std::string cache_type_k = "f16";
  std::string cache_type_v = "f16";

  template <class Visitor>
  void VisitFields(Visitor&& v) {
    v(threads, {"threads", 't', nullptr, "threads, the calling thread included"});
    v(context, {"ctx-size", 'c', nullptr, "context size in tokens; 0: the model's"});
    v(batch, {"batch-size", 'b', nullptr, "prompt tokens per forward pass"});
    v(pin_threads, {"pin-threads", 0, nullptr,
                    "pin each thread to a core of its own while the session lives"});
    v(cache_type_k, {"cache-type-k", 0, nullptr,
                     "KV cache type of keys (-ctk): f32, f16, bf16, q8_0, q4_0"});
    v(cache_type_v, {"cache-type-v", 0, nullptr,
                     "KV cache type of values (-ctv): f32, f16, bf16, q8_0, q4_0"});
  }
};

// How embeddings are made (runtime/embedder.h).
struct EmbedOptions {
  std::string pooling;     // mean, cls or last; empty: the model's
  bool normalize = true;   // to unit L2 length (after truncation)
  int64_t dimensions = 0;  // keep the first n components (Matryoshka); 0: all
  // An input longer than the model's context is cut to fit (keeping a
  // WordPiece input's closing [SEP]) rather than refused.
  bool truncate = false;
};

struct LoadOptions {
  // A registered backend name (any case), "auto", or empty for
  // $SMALLMIND_BACKEND, then "auto": the best backend for the weights.
  std::string backend;

  template <class Visitor>
  void VisitFields(Visitor&& v) {
    v(backend, {"backend", 0, nullptr,
                "matmul backend: a registered name or auto (default: "
                "$SMALLMIND_BACKEND, else auto)"});
  }
};

}  // namespace smallmind::runtime

#endif  // SMALLMIND_RUNTIME_OPTIONS_H_

#!/usr/bin/env bash
# SmallMind's grammar-constrained sampling and log probabilities beside
# llama-server's, on the same GGUF file: greedy text under each GBNF file
# (llama.cpp's own grammars/*.gbnf, say), and the top-5 tokens of each
# position with their log probabilities.
#
#   bash scripts/grammar_vs_llama.sh LLAMA_SERVER MODEL.gguf GRAMMAR.gbnf...
#
# Then the speed of constrained decoding: tokens a second of greedy answers
# with and without SPEED_GRAMMAR (default: the json.gbnf among the
# grammars), the engines in turn, the median of SPEED_ROUNDS (5) answers of
# up to SPEED_N (128) tokens after SPEED_PROMPT ("Once upon a time"), timed
# by the client (the short prompt included; the table shows how many tokens
# the constrained answers had, which the model decides).
#
# Both servers start on loopback (ports 18601 and 18602) and stop at the
# end. Env: N (tokens per answer, 32), PROMPTS (for the log probabilities),
# THREADS (2), SMALLMIND (default: bazel-bin/tools/smallmind/smallmind,
# built if missing). Prints one line per grammar (SAME or DIFF), the log
# probabilities' agreement and the speed table; exits 1 when a grammar's
# text differs.
set -euo pipefail
cd "$(dirname "$0")/.."
llama=${1:?usage: grammar_vs_llama.sh LLAMA_SERVER MODEL.gguf GRAMMAR.gbnf...}
model=${2:?usage: grammar_vs_llama.sh LLAMA_SERVER MODEL.gguf GRAMMAR.gbnf...}
shift 2
sm=${SMALLMIND:-bazel-bin/tools/smallmind/smallmind}
[ -x "$sm" ] || bazel build -c opt //tools/smallmind >/dev/null
threads=${THREADS:-2}
LD_LIBRARY_PATH="$(dirname "$llama")" "$llama" -m "$model" --port 18601 -t "$threads" -c 512 >/dev/null 2>&1 &
llama_pid=$!
"$sm" serve -m "$model" --port 18602 -t "$threads" -c 512 2>/dev/null &
sm_pid=$!
trap 'kill $llama_pid $sm_pid 2>/dev/null; wait 2>/dev/null' EXIT
for _ in $(seq 200); do
  curl -sf http://127.0.0.1:18601/health >/dev/null && curl -sf http://127.0.0.1:18602/health >/dev/null && break
  sleep 0.2
done
N=${N:-32} python3 - "$@" <<'PY'
import json, os, statistics, sys, time, urllib.request

def post(port, path, body):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(request, timeout=300))

n = int(os.environ["N"])
differ = 0
for path in sys.argv[1:]:
    grammar = open(path).read()
    theirs = post(18601, "/completion", {"prompt": "Once upon a time", "n_predict": n, "temperature": 0,
                                          "grammar": grammar, "cache_prompt": False})["content"]
    ours = post(18602, "/v1/completions", {"prompt": "Once upon a time", "max_tokens": n,
                                            "temperature": 0, "grammar": grammar})["choices"][0]["text"]
    differ += theirs != ours
    print(f"{os.path.basename(path)}: {'SAME' if theirs == ours else 'DIFF'} {ours[:48]!r}")
prompts = os.environ.get("PROMPTS", "Once upon a time|The capital of France|def main():|1, 2, 3,|Hello").split("|")
positions = same_order = same_set = 0
largest = 0.0
for prompt in prompts:
    theirs = post(18601, "/completion", {"prompt": prompt, "n_predict": 16, "temperature": 0, "n_probs": 5,
                                          "cache_prompt": False})["completion_probabilities"]
    ours = post(18602, "/v1/completions", {"prompt": prompt, "max_tokens": 16, "temperature": 0,
                                            "logprobs": 5})["choices"][0]["logprobs"]["top_logprobs"]
    for t, o in zip(theirs, ours):
        a = [(x["token"], x["logprob"]) for x in t["top_logprobs"]]
        b = list(o.items())
        positions += 1
        same_order += [x for x, _ in a] == [x for x, _ in b]
        same_set += {x for x, _ in a} == {x for x, _ in b}
        largest = max([largest] + [abs(x - y) for (p, x), (q, y) in zip(a, b) if p == q])
print(f"log probabilities, {positions} positions: top-5 in the same order {same_order}, "
      f"the same set {same_set}; largest difference of one token's {largest:.2e}")

speed_grammar = os.environ.get("SPEED_GRAMMAR") or next(
    (p for p in sys.argv[1:] if os.path.basename(p) == "json.gbnf"), None)
if speed_grammar:
    grammar = open(speed_grammar).read()
    n, rounds = int(os.environ.get("SPEED_N", "128")), int(os.environ.get("SPEED_ROUNDS", "5"))
    prompt = os.environ.get("SPEED_PROMPT", "Once upon a time")

    def theirs(constrained):
        body = {"prompt": prompt, "n_predict": n, "temperature": 0, "cache_prompt": False}
        body.update({"grammar": grammar} if constrained else {"ignore_eos": True})
        return post(18601, "/completion", body)["tokens_predicted"]

    def ours(constrained):
        body = {"prompt": prompt, "max_tokens": n, "temperature": 0}
        body.update({"grammar": grammar} if constrained else {"ignore_eos": True})
        return post(18602, "/v1/completions", body)["usage"]["completion_tokens"]

    rates, lengths = {}, {}
    for _ in range(rounds):  # interleaved, so a busy moment hits both
        for name, ask in (("llama-server", theirs), ("SmallMind", ours)):
            for constrained in (False, True):
                start = time.perf_counter()
                tokens = ask(constrained)
                rates.setdefault((name, constrained), []).append(tokens / (time.perf_counter() - start))
                lengths[(name, constrained)] = tokens
    rate = {key: statistics.median(values) for key, values in rates.items()}
    print(f"\nconstrained decoding, {os.path.basename(speed_grammar)}, greedy, up to {n} tokens, "
          f"median of {rounds}:\n")
    print("| engine | free t/s | constrained t/s | tokens constrained | constrained ÷ free |")
    print("|---|---:|---:|---:|---:|")
    for name in ("llama-server", "SmallMind"):
        free, constrained = rate[(name, False)], rate[(name, True)]
        print(f"| {name} | {free:.1f} | {constrained:.1f} | {lengths[(name, True)]} | {constrained / free:.2f} |")
    print(f"\nSmallMind ÷ llama-server: free {rate[('SmallMind', False)] / rate[('llama-server', False)]:.2f}×, "
          f"constrained {rate[('SmallMind', True)] / rate[('llama-server', True)]:.2f}×")
sys.exit(1 if differ else 0)
PY

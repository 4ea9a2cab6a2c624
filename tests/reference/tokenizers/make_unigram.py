#!/usr/bin/python3
"""A SentencePiece Unigram vocabulary in XLM-RoBERTa's form, and the ids
SentencePiece itself gives each line of corpus.jsonl with it.

No real XLM-R tokenizer ships in an npm package, so this trains one with
Google's SentencePiece (Debian's sentencepiece and python3-sentencepiece;
fortunes for English text): a Unigram model of 2,000 pieces, SentencePiece's
defaults otherwise (the nmt_nfkc normalisation as a precompiled charsmap, a
dummy prefix, extra whitespace removed, 99.95% character coverage so rare
characters are unknown), trained on the fortunes and every other corpus line.

Writes unigram/spm.model and xlmr.jsonl: each corpus line's ids without
special tokens, renumbered as XLM-R's tokenizer does (fairseq's <s> <pad>
</s> <unk> first, SentencePiece's pieces one place up). Run by hand:

    /usr/bin/python3 tests/reference/tokenizers/make_unigram.py
"""
import glob
import json
import os
import tempfile

import sentencepiece as spm

HERE = os.path.dirname(os.path.abspath(__file__))


def xlmr_id(sp, i):
    """SentencePiece id -> XLM-R id: <unk> is 3, pieces from 3 move up one."""
    return 3 if i == sp.unk_id() else i + 1


def main():
    corpus = [json.loads(line) for line in open(os.path.join(HERE, "corpus.jsonl"), encoding="utf-8")]
    with tempfile.TemporaryDirectory() as tmp:
        text = os.path.join(tmp, "train.txt")
        with open(text, "w", encoding="utf-8") as out:
            for path in sorted(glob.glob("/usr/share/games/fortunes/*.u8")):
                out.write(open(path, encoding="utf-8", errors="ignore").read().replace("\n%\n", "\n"))
            for line in corpus[::2]:
                out.write(line.replace("\n", " ") + "\n")
        spm.SentencePieceTrainer.train(
            input=text, model_prefix=os.path.join(HERE, "unigram", "spm"), model_type="unigram",
            vocab_size=2000, character_coverage=1.0, num_threads=1, minloglevel=2)
    os.remove(os.path.join(HERE, "unigram", "spm.vocab"))
    sp = spm.SentencePieceProcessor(model_file=os.path.join(HERE, "unigram", "spm.model"))
    with open(os.path.join(HERE, "xlmr.jsonl"), "w", encoding="utf-8") as out:
        for line in corpus:
            out.write(json.dumps([xlmr_id(sp, i) for i in sp.encode(line)]) + "\n")
    print(sp.get_piece_size(), "pieces")


if __name__ == "__main__":
    main()

"""Write a tiny random-weight llama model in GGUF that llama.cpp loads and runs.

    python scripts/interop/make_tiny_gguf.py OUT.gguf

No model is downloaded for the llama.cpp interop tests: this writes one (about 400 KB) from a
seeded numpy RandomState, so the same file comes out byte for byte on every machine, and at
temperature 0 the server's replies are fixed. The replies are word salad, but everything around
them is real: llama.cpp's SentencePiece-style tokenizer, a ChatML chat template, sampling,
streaming, stop strings, `finish_reason: length`, usage counts and embeddings.

Design choices:

- Vocabulary: `<unk> <s> </s>`, the 256 byte tokens `<0x00>..<0xFF>` (so any input text
  tokenizes), the ChatML markers, the printable ASCII characters and ~200 whole words `▁word`.
- The model never *generates* a byte, control or end-of-sequence token: residual dimension 0 is a
  constant the layers never write to, so after the final RMS norm it is always positive, and the
  output rows of those tokens weigh it by a large negative number. Replies are therefore valid
  UTF-8 words and always run to `max_tokens` (finish reason `length`).
- Mean pooling is declared, so `/v1/embeddings` returns one `n_embd`-sized vector per input.
"""

from __future__ import annotations

import sys
from pathlib import Path

import gguf
import numpy as np

SEED = 20240601
N_EMBD = 64
N_HEAD = 4
N_HEAD_KV = 2
N_LAYER = 2
N_FF = 128
N_CTX_TRAIN = 4096
RMS_EPS = 1e-5
# Residual dimension 0: constant, never written by a layer (see the module docstring).
ANCHOR = 1.0
BANNED_LOGIT_WEIGHT = -1.0e4

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

_WORD_TEXT = """
the of and to in is it you that he was for on are with as his they be at one have this from or
had by word but what some we can out other were all there when up use your how said an each she
which do their time if will way about many then them write would like so these her long make
thing see him two has look more day could go come did number sound no most people my over know
water than call first who may down side been now find any new work part take get place made live
where after back little only round man year came show every good me give our under name very
through just form sentence great think say help low line differ turn cause much mean before move
right boy old too same tell does set three want air well also play small end put home read hand
port large spell add even land here must big high such follow act why ask men change went light
kind off need house picture try us again animal point mother world near build self earth father
river stone cloud green silver lamp quiet bright garden window paper music ocean forest winter
"""
WORDS = _WORD_TEXT.split()


def vocabulary() -> tuple[list[str], list[float], list[int], set[int]]:
    """(tokens, scores, token types, ids the model must never generate)."""
    tokens: list[str] = []
    scores: list[float] = []
    types: list[int] = []
    banned: set[int] = set()

    def add(text: str, score: float, kind: gguf.TokenType, *, generable: bool) -> None:
        if not generable:
            banned.add(len(tokens))
        tokens.append(text)
        scores.append(score)
        types.append(int(kind))

    add("<unk>", 0.0, gguf.TokenType.UNKNOWN, generable=False)
    add("<s>", 0.0, gguf.TokenType.CONTROL, generable=False)
    add("</s>", 0.0, gguf.TokenType.CONTROL, generable=False)
    for byte in range(256):
        add(f"<0x{byte:02X}>", 0.0, gguf.TokenType.BYTE, generable=False)
    add("<|im_start|>", 0.0, gguf.TokenType.CONTROL, generable=False)
    add("<|im_end|>", 0.0, gguf.TokenType.CONTROL, generable=False)
    # Single characters: SentencePiece merges start from these. Not generated (salad of words).
    add("\u2581", -1.0, gguf.TokenType.NORMAL, generable=False)
    for code in range(0x21, 0x7F):
        add(chr(code), -2.0, gguf.TokenType.NORMAL, generable=False)
    seen: set[str] = set()
    for rank, word in enumerate(WORDS):
        if word in seen:
            continue
        seen.add(word)
        add("\u2581" + word, -10.0 - rank * 0.01, gguf.TokenType.NORMAL, generable=True)
    return tokens, scores, types, banned


def weights(n_vocab: int, banned: set[int], rng: np.random.RandomState) -> dict[str, np.ndarray]:
    """All tensors, as numpy arrays in GGUF's row-major (reversed) shape convention, float32."""
    head_dim = N_EMBD // N_HEAD

    def normal(*shape: int, std: float) -> np.ndarray:
        return rng.normal(0.0, std, size=shape).astype(np.float32)

    tensors: dict[str, np.ndarray] = {}
    embd = normal(n_vocab, N_EMBD, std=1.0)
    embd[:, 0] = ANCHOR
    tensors["token_embd.weight"] = embd
    for layer in range(N_LAYER):
        p = f"blk.{layer}."
        tensors[p + "attn_norm.weight"] = np.ones(N_EMBD, dtype=np.float32)
        tensors[p + "attn_q.weight"] = normal(N_HEAD * head_dim, N_EMBD, std=0.5)
        tensors[p + "attn_k.weight"] = normal(N_HEAD_KV * head_dim, N_EMBD, std=0.5)
        tensors[p + "attn_v.weight"] = normal(N_HEAD_KV * head_dim, N_EMBD, std=0.5)
        attn_out = normal(N_EMBD, N_HEAD * head_dim, std=0.2)
        attn_out[0, :] = 0.0  # the anchor dimension is never written
        tensors[p + "attn_output.weight"] = attn_out
        tensors[p + "ffn_norm.weight"] = np.ones(N_EMBD, dtype=np.float32)
        tensors[p + "ffn_gate.weight"] = normal(N_FF, N_EMBD, std=0.3)
        tensors[p + "ffn_up.weight"] = normal(N_FF, N_EMBD, std=0.3)
        ffn_down = normal(N_EMBD, N_FF, std=0.2)
        ffn_down[0, :] = 0.0
        tensors[p + "ffn_down.weight"] = ffn_down
    tensors["output_norm.weight"] = np.ones(N_EMBD, dtype=np.float32)
    output = normal(n_vocab, N_EMBD, std=1.0)
    output[:, 0] = 0.0
    for token in banned:
        output[token, :] = 0.0
        output[token, 0] = BANNED_LOGIT_WEIGHT
    tensors["output.weight"] = output
    return tensors


def write_model(path: Path) -> None:
    tokens, scores, types, banned = vocabulary()
    rng = np.random.RandomState(SEED)
    tensors = weights(len(tokens), banned, rng)

    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("switchboard-tiny")
    writer.add_context_length(N_CTX_TRAIN)
    writer.add_embedding_length(N_EMBD)
    writer.add_block_count(N_LAYER)
    writer.add_feed_forward_length(N_FF)
    writer.add_head_count(N_HEAD)
    writer.add_head_count_kv(N_HEAD_KV)
    writer.add_layer_norm_rms_eps(RMS_EPS)
    writer.add_rope_dimension_count(N_EMBD // N_HEAD)
    writer.add_rope_freq_base(10000.0)
    writer.add_vocab_size(len(tokens))
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_pooling_type(gguf.PoolingType.MEAN)
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_bos_token_id(tokens.index("<s>"))
    writer.add_eos_token_id(tokens.index("</s>"))
    writer.add_unk_token_id(tokens.index("<unk>"))
    writer.add_add_bos_token(True)
    writer.add_add_space_prefix(True)
    writer.add_chat_template(CHAT_TEMPLATE)
    for name, array in tensors.items():
        writer.add_tensor(name, array)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(f"usage: {argv[0]} OUT.gguf", file=sys.stderr)
        return 2
    out = Path(argv[1])
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    write_model(tmp)
    tmp.replace(out)
    print(f"wrote {out} ({out.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))

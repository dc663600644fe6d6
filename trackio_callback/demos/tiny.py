"""Tiny causal language models and data built offline: the demo job's and the tests' training material.

Nothing is downloaded: a word-level tokenizer is trained with ``tokenizers`` on generated sentences
(~200 words), models of 2 layers and width 32 are built from ``GPT2Config`` / ``LlamaConfig`` /
``Qwen2Config`` with a fixed seed, and datasets are small and in memory. A real run loads
``Qwen/Qwen2.5-0.5B`` and ``trl-lib/Capybara`` from the Hub instead; these stand in for them where
there is no network (CI, the demo) and train in seconds on a CPU::

    tokenizer = build_tokenizer()
    model = build_model("qwen2", tokenizer=tokenizer)
    trainer = SFTTrainer(model=model, processing_class=tokenizer, train_dataset=sft_dataset(), args=...)
"""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from datasets import Dataset
    from transformers import PretrainedConfig, PreTrainedModel, PreTrainedTokenizerFast

ModelKind = Literal["gpt2", "llama", "qwen2"]

PAD, EOS, BOS, UNK = "<|pad|>", "<|end|>", "<|bos|>", "<|unk|>"
ROLE_TOKENS = ["<|system|>", "<|user|>", "<|assistant|>"]
SPECIAL_TOKENS = [PAD, EOS, BOS, UNK, *ROLE_TOKENS]
MAX_POSITIONS = 128
SEED = 0
EVAL_SEED = 1

# The eos token closes every turn and sits inside {% generation %}, so assistant-only loss trains the model to stop.
# A prompt rendered with add_generation_prompt=True is a prefix of the same prompt rendered with its answer.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}"
    "{{ '<|assistant|>\n' }}{% generation %}{{ message['content'] + '<|end|>' }}{% endgeneration %}{{ '\n' }}"
    "{% else %}"
    "{{ '<|' + message['role'] + '|>\n' + message['content'] + '<|end|>\n' }}"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}"
)


def _words(text: str) -> list[str]:
    return text.split()


ANIMALS = _words("cat dog fox bird fish cow horse sheep goat duck owl bear wolf frog mouse lion tiger rabbit deer bee")
FOODS = _words("apple bread cheese corn rice milk honey grass seeds worms carrots berries nuts leaves soup cake")
COLORS = _words("red blue green yellow black white brown gray orange pink purple gold")
SIZES = _words("big small tall short old young fast slow happy sad quiet loud")
VERBS = _words("eats likes sees finds wants needs has gets takes makes holds loves hates chases follows")
PLACES = _words("farm forest river house garden field lake hill park city barn road")
NUMBERS = _words("zero one two three four five six seven eight nine ten")
FUNCTION_WORDS = _words("the a an and or but in on at near with from to is are was what who where why how does do")
EXTRA = _words("yes no good bad answer question story day night today sun moon rain snow tree")
BASE_VERBS = _words("eat like see find want need have get take make run jump swim fly sleep play sing walk")
PEOPLE = _words("boy girl man woman child friend teacher king queen farmer")
THINGS = _words("ball book car boat door window table chair bed cup hat shoe box")
PRONOUNS = _words("i you he she it we they my your his her its our their this that")
ADVERBS = _words("very often never always slowly quickly not")
PUNCTUATION = [".", ",", "?", "!"]
WORDS = [
    *ANIMALS,
    *FOODS,
    *COLORS,
    *SIZES,
    *VERBS,
    *PLACES,
    *NUMBERS,
    *FUNCTION_WORDS,
    *EXTRA,
    *BASE_VERBS,
    *PEOPLE,
    *THINGS,
    *PRONOUNS,
    *ADVERBS,
    *PUNCTUATION,
]


def sentence(rng: random.Random) -> str:
    """One short sentence using only words of the tokenizer's vocabulary."""
    animal, food, place = rng.choice(ANIMALS), rng.choice(FOODS), rng.choice(PLACES)
    return f"the {rng.choice(SIZES)} {animal} {rng.choice(VERBS)} {rng.choice(COLORS)} {food} near the {place} ."


def corpus(n: int = 300, seed: int = SEED) -> list[str]:
    """A few hundred generated sentences, plus every vocabulary word once so that none is unknown."""
    rng = random.Random(seed)
    return [" ".join(WORDS), *(sentence(rng) for _ in range(n))]


# --- tokenizer and models


def build_tokenizer(directory: str | Path | None = None) -> PreTrainedTokenizerFast:
    """Train a word-level tokenizer (vocab ~200) on :func:`corpus`; save it to ``directory`` when given.

    Lower-cases its input and splits on whitespace and punctuation. Has pad/eos/bos/unk tokens, role tokens and a chat
    template with ``{% generation %}`` markers (for SFT ``assistant_only_loss``). Reload with
    ``AutoTokenizer.from_pretrained(directory)``.
    """
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.WordLevel(unk_token=UNK))
    backend.normalizer = normalizers.Lowercase()
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = trainers.WordLevelTrainer(vocab_size=1000, min_frequency=1, special_tokens=SPECIAL_TOKENS)
    backend.train_from_iterator(corpus(), trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        pad_token=PAD,
        eos_token=EOS,
        bos_token=BOS,
        unk_token=UNK,
        additional_special_tokens=ROLE_TOKENS,
        model_max_length=MAX_POSITIONS,
        padding_side="right",
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    if directory is not None:
        tokenizer.save_pretrained(str(directory))
    return tokenizer


# ------------------------------------------------------------------------------------------------------------- model


def _model_config(kind: ModelKind, vocab_size: int, pad: int, bos: int, eos: int) -> PretrainedConfig:
    from transformers import GPT2Config, LlamaConfig, Qwen2Config

    ids = {"vocab_size": vocab_size, "pad_token_id": pad, "bos_token_id": bos, "eos_token_id": eos}
    if kind == "gpt2":
        return GPT2Config(n_layer=2, n_embd=32, n_head=2, n_positions=MAX_POSITIONS, **ids)
    sizes = {
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "num_key_value_heads": 2,
        "max_position_embeddings": MAX_POSITIONS,
    }
    if kind == "llama":
        return LlamaConfig(**sizes, **ids)
    if kind == "qwen2":
        return Qwen2Config(**sizes, **ids)
    raise ValueError(f"unknown model kind {kind!r}; expected 'gpt2', 'llama' or 'qwen2'")


def build_model(
    kind: ModelKind = "gpt2",
    *,
    tokenizer: PreTrainedTokenizerFast | None = None,
    vocab_size: int | None = None,
    seed: int = SEED,
) -> PreTrainedModel:
    """A randomly initialised 2-layer causal LM of width 32; the same ``seed`` gives the same weights.

    Vocabulary size and pad/bos/eos ids come from ``tokenizer`` (default: :func:`build_tokenizer`'s), or
    ``vocab_size`` overrides the size. The generation config carries the same ids.
    """
    import torch
    from transformers import AutoModelForCausalLM

    tokenizer = tokenizer if tokenizer is not None else build_tokenizer()
    pad, bos, eos = tokenizer.pad_token_id, tokenizer.bos_token_id, tokenizer.eos_token_id
    config = _model_config(kind, vocab_size or len(tokenizer), pad, bos, eos)
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config)
    if model.loss_type is None:  # GPT2LMHeadModel's name maps to no loss type, which logs a warning at every run
        model.loss_type = "ForCausalLM"
    model.generation_config.pad_token_id = pad
    model.generation_config.bos_token_id = bos
    model.generation_config.eos_token_id = eos
    return model


def checkpoint(directory: str | Path, kind: ModelKind = "qwen2") -> tuple[str, PreTrainedTokenizerFast]:
    """Build a tiny model and its tokenizer, save the model to ``directory``; return the path and the tokenizer.

    Pass both to a trainer (``model=path, processing_class=tokenizer``): the path stands in for a
    Hub id. The tokenizer goes as an object because, saved next to a Qwen2 config, transformers 5
    would reload it as a ``Qwen2Tokenizer`` with byte-level pre-tokenization, which silently maps
    the word-level vocabulary to wrong ids.
    """
    tokenizer = build_tokenizer()
    build_model(kind, tokenizer=tokenizer).save_pretrained(str(directory))
    return str(directory), tokenizer


def cpu_settings(config_class: type) -> dict[str, Any]:
    """``TrainingArguments`` (or a TRL config of ``config_class``) settings that train fast on a CPU.

    fp32, no checkpoints saved, no worker processes or pinned memory, no progress bar, and activation
    checkpointing off (TRL turns it on by default). transformers >= 5.24 renamed
    ``gradient_checkpointing`` to ``activation_checkpointing`` and warns when only the old name is
    set, so the field the class has is the one set.
    """
    names = {field.name for field in dataclasses.fields(config_class)}
    checkpointing = "activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing"
    return {
        "save_strategy": "no",
        "use_cpu": True,
        "bf16": False,
        "fp16": False,
        "dataloader_num_workers": 0,
        "dataloader_pin_memory": False,
        "disable_tqdm": True,
        checkpointing: False,
    }


# --- data


def question_answer(rng: random.Random) -> tuple[str, str, str]:
    """A question about an animal, a good (on-topic) answer and a bad one."""
    animal, food, other = rng.choice(ANIMALS), rng.choice(FOODS), rng.choice(EXTRA)
    question = f"what does the {animal} eat ?"
    return question, f"the {animal} eats {food} .", f"{other} {other} no ."


def sft_dataset(n: int = 32, conversational: bool = False, seed: int = SEED) -> Dataset:
    """SFT data: a ``text`` column, or with ``conversational=True`` a ``messages`` column (user + assistant turns)."""
    from datasets import Dataset

    rng = random.Random(seed)
    if not conversational:
        return Dataset.from_dict({"text": [sentence(rng) for _ in range(n)]})
    rows = []
    for _ in range(n):
        question, answer, _bad = question_answer(rng)
        rows.append({"messages": [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]})
    return Dataset.from_list(rows)


def dpo_dataset(n: int = 16, conversational: bool = False, seed: int = SEED) -> Dataset:
    """Preference data with ``prompt``/``chosen``/``rejected`` columns (strings, or message lists if conversational)."""
    from datasets import Dataset

    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        question, good, bad = question_answer(rng)
        if conversational:
            rows.append(
                {
                    "prompt": [{"role": "user", "content": question}],
                    "chosen": [{"role": "assistant", "content": good}],
                    "rejected": [{"role": "assistant", "content": bad}],
                }
            )
        else:
            rows.append({"prompt": question, "chosen": " " + good, "rejected": " " + bad})
    return Dataset.from_list(rows)


def grpo_dataset(n: int = 16, conversational: bool = False, seed: int = SEED) -> Dataset:
    """Prompt-only data (``prompt`` column: strings, or a one-message list if conversational) for GRPO."""
    from datasets import Dataset

    rng = random.Random(seed)
    questions = [question_answer(rng)[0] for _ in range(n)]
    if conversational:
        return Dataset.from_list([{"prompt": [{"role": "user", "content": q}]} for q in questions])
    return Dataset.from_dict({"prompt": questions})


def _completion_text(completion: str | list[dict[str, Any]]) -> str:
    if isinstance(completion, str):
        return completion
    return " ".join(str(message.get("content", "")) for message in completion)


def reward_len(completions: list[Any], **kwargs: Any) -> list[float]:
    """Deterministic GRPO reward: longer completions score higher (number of characters / 10)."""
    return [len(_completion_text(completion)) / 10.0 for completion in completions]

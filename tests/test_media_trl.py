"""TRL: a real GRPO run of a tiny vision-language model, its completions table with images logged to the run.

TRL's ``GRPOTrainer.log`` (1.16) logs ``trackio.log({"completions": trackio.Table(dataframe=df)})`` with an
``image`` column holding, per completion, the list of its prompt's images as ``trackio.Image`` (PIL images from the
dataset). Here that code runs unchanged, through ``report_to="trackio"``, on a LLaVA model of a few thousand
parameters built from a config (CLIP vision tower 28 px, 2-layer Llama of width 32) with a processor built locally
(the tests' word-level tokenizer plus an ``<image>`` token, a CLIP image processor): nothing is downloaded.

What is checked: every image cell of every step's table decodes to exactly the dataset image of that row's prompt;
the table's other columns equal TRL's own record of the same rows (``completions/completions_<step>.parquet``);
each distinct image is one stored file; the table TRL logs again with its end-of-training summary is stored once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image as PILImage

from tests.tiny import KNOWN_WARNINGS, build_tokenizer, grpo_config, reward_len  # first: sets the offline flags
from trackio_callback import Reader
from trackio_callback.store import Store

# TRL 1.16's completions table passes pd.concat(copy=False), which pandas 3 deprecates: TRL's, not ours.
pytestmark = [pytest.mark.filterwarnings(spec) for spec in (*KNOWN_WARNINGS, "ignore:The copy keyword is deprecated")]

IMAGE_TOKEN = "<image>"
IMAGE_SIDE = 28  # the vision tower's input: 2 x 2 patches of 14 px
ANIMALS = ("cat", "dog", "fox", "bird")  # words of the tiny tokenizer's vocabulary
# Renders trackio's / TRL's multimodal messages: content is a string, or a list of {"type": "image"|"text"} parts.
CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}" + IMAGE_TOKEN + "{% else %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)


def tiny_vlm():
    """A LLaVA model and its processor, built offline: the tests' tokenizer with an image token, a CLIP processor."""
    import torch
    from transformers import (
        CLIPImageProcessorPil,
        CLIPVisionConfig,
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
    )

    tokenizer = build_tokenizer()
    tokenizer.add_tokens([IMAGE_TOKEN], special_tokens=True)
    tokenizer.chat_template = CHAT_TEMPLATE
    image_processor = CLIPImageProcessorPil(
        size={"shortest_edge": IMAGE_SIDE}, crop_size={"height": IMAGE_SIDE, "width": IMAGE_SIDE}
    )
    processor = LlavaProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        patch_size=14,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,  # CLIP's class token, which "default" leaves out: 4 image tokens
        chat_template=CHAT_TEMPLATE,
    )
    vision = CLIPVisionConfig(
        hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, image_size=IMAGE_SIDE,
        patch_size=14,
    )  # fmt: skip
    text = LlamaConfig(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2,
        max_position_embeddings=128, vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
    )  # fmt: skip
    config = LlavaConfig(
        vision_config=vision,
        text_config=text,
        image_token_id=tokenizer.convert_tokens_to_ids(IMAGE_TOKEN),
        vision_feature_select_strategy="default",
        vision_feature_layer=-1,
    )
    torch.manual_seed(0)
    model = LlavaForConditionalGeneration(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    return model, processor


def picture(index: int) -> PILImage.Image:
    """A distinct random RGB picture per prompt, of its own size (the processor resizes; the log keeps it as is)."""
    rng = np.random.default_rng(index)
    return PILImage.fromarray(rng.integers(0, 256, (20 + index, 24 + 2 * index, 3), dtype=np.uint8))


def question(animal: str) -> str:
    return f"what does the {animal} eat ?"


def text_of(prompt: list[dict]) -> str:
    """The question of a logged prompt: TRL strips the images, leaving ``{"type": "image"}`` placeholders."""
    (message,) = prompt
    assert message["role"] == "user" and message["content"][0] == {"type": "image"}
    return message["content"][1]["text"]


def test_grpo_on_a_tiny_vlm_stores_the_completions_tables_images(store_dir, tmp_path):
    from datasets import Dataset
    from trl import GRPOTrainer
    from trl.trainer import grpo_trainer

    import trackio_callback

    assert grpo_trainer.trackio.Image is trackio_callback.Image  # TRL's `import trackio` is this package
    model, processor = tiny_vlm()
    pictures = {question(animal): picture(i) for i, animal in enumerate(ANIMALS)}
    dataset = Dataset.from_list(
        [{"prompt": [{"role": "user", "content": text}], "image": image} for text, image in pictures.items()]
    )
    args = grpo_config(
        tmp_path / "out", report_to="trackio", project="vlm", run_name="grpo", max_steps=2,
        per_device_train_batch_size=4,  # 2 prompts x 2 generations per step: every prompt once over the 2 steps
    )  # fmt: skip
    trainer = GRPOTrainer(
        model=model, reward_funcs=reward_len, args=args, train_dataset=dataset, processing_class=processor
    )
    trainer.train()

    reader = Reader(store_dir)
    assert reader.run("vlm", "grpo")["status"] == "finished"
    assert reader.series("vlm", "grpo", "train/reward").steps == [1, 2]
    tables = reader.tables("vlm", "grpo", "completions")
    # One table per step: TRL logs the last step's table again with its summary, which is stored once.
    assert [t["step"] for t in tables] == [1, 2]
    seen = set()
    for table in tables:
        assert table["columns"] == ["step", "prompt", "completion", "reward_len", "advantage", "image"]
        assert len(table["rows"]) == 4
        for step, prompt, _completion, _reward, _advantage, images in table["rows"]:
            assert step == table["step"]
            text = text_of(prompt)
            (cell,) = images  # one image per prompt, in a list as TRL logs it
            expected = np.asarray(pictures[text])
            assert cell["_type"] == "trackio.image" and cell["format"] == "png"
            assert (cell["height"], cell["width"]) == expected.shape[:2]
            stored = reader.media_path("vlm", cell["digest"])
            with PILImage.open(stored) as image:
                np.testing.assert_array_equal(np.asarray(image), expected)
            seen.add((text, cell["digest"]))
        # The other columns are TRL's own record of the same rows.
        record = pd.read_parquet(tmp_path / "out" / "completions" / f"completions_{table['step']:05d}.parquet")
        assert record["step"].tolist() == [row[0] for row in table["rows"]]
        assert record["reward_len"].tolist() == [row[3] for row in table["rows"]]
        assert record["advantage"].tolist() == [row[4] for row in table["rows"]]
        completions = [[dict(message) for message in logged] for logged in record["completion"]]
        assert completions == [row[2] for row in table["rows"]]
    texts = {text for text, _ in seen}
    assert texts == set(pictures)  # every prompt came up once over the two steps
    assert len(seen) == len(texts)  # one digest per picture: its two completions share the stored file
    store = Store(store_dir / "vlm.db", create=False)
    try:
        assert {f.digest for f in store.media_files()} == {digest for _, digest in seen}
    finally:
        store.close()
    assert reader.media_keys("vlm", "grpo") == []  # the images belong to the table

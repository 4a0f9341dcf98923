"""A tiny causal LM and a tokenizer trained on the test data: real TRL training, offline, on CPU.

Nothing comes from the Hugging Face hub (``HF_HUB_OFFLINE=1``): the tokenizer is a byte-level
BPE trained on the exported texts and the model is built from a 2-layer Llama config.
The chat template is ChatML with tool support, written like the real ones: tool-call
arguments are rendered with ``| tojson`` and must be a mapping (as in transformers' docs), and
assistant turns are wrapped in ``{% generation %}`` so ``assistant_only_loss`` works.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("WANDB_DISABLED", "true")

SPECIALS = ["<unk>", "<pad>", "<|im_start|>", "<|im_end|>"]

CHAT_TEMPLATE = (
    "{%- if tools %}<|im_start|>system\nTools: {{ tools | tojson }}<|im_end|>\n{% endif %}"
    "{%- for m in messages %}"
    "{%- if m.role == 'assistant' %}<|im_start|>assistant\n{% generation %}"
    "{%- if m.content is string %}{{ m.content }}{% endif %}"
    "{%- for c in m.tool_calls or [] %}"
    "{%- if c.function.arguments is string %}{{ raise_exception('tool-call arguments must be a mapping, not a string') }}{% endif %}"
    '<tool_call>{"name": {{ c.function.name | tojson }}, "arguments": {{ c.function.arguments | tojson }}}</tool_call>'
    "{%- endfor %}<|im_end|>\n{% endgeneration %}"
    "{%- else %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def train_tokenizer(texts: Iterable[str], vocab_size: int = 600) -> Any:
    """A byte-level BPE trained on ``texts``, wrapped as a transformers fast tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIALS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(list(texts), trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>", eos_token="<|im_end|>", bos_token="<|im_start|>")
    fast.chat_template = CHAT_TEMPLATE
    fast.model_max_length = 1024
    return fast


def tiny_model(tokenizer: Any) -> Any:
    """A 2-layer, 32-wide Llama: trains a step in well under a second on one CPU core."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                      num_key_value_heads=2, max_position_embeddings=1024, pad_token_id=tokenizer.pad_token_id,
                      eos_token_id=tokenizer.eos_token_id, bos_token_id=tokenizer.bos_token_id)
    return LlamaForCausalLM(cfg)


def sft_two_steps(dataset: Any, tokenizer: Any, out_dir: Path, **config: Any) -> list[float]:
    """Train 2 optimizer steps with TRL's SFTTrainer; returns the logged losses."""
    from trl import SFTConfig, SFTTrainer

    args = SFTConfig(output_dir=str(out_dir), max_steps=2, per_device_train_batch_size=2, logging_steps=1, report_to="none",
                     save_strategy="no", use_cpu=True, max_length=512, learning_rate=1e-3, disable_tqdm=True, dataloader_num_workers=0,
                     **config)
    trainer = SFTTrainer(model=tiny_model(tokenizer), args=args, train_dataset=dataset, processing_class=tokenizer)
    result = trainer.train()
    assert trainer.state.global_step == 2, trainer.state.global_step
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    assert losses and all(math.isfinite(x) for x in losses) and math.isfinite(result.training_loss), losses
    return losses


def texts_of_jsonl(path: Path) -> list[str]:
    """Every line of the file, as training text for the tokenizer (covers every word in it)."""
    return path.read_text(encoding="utf-8").splitlines()

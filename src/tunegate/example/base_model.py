"""The example's tiny base model, built offline: no hub, no download.

A byte-level BPE tokenizer is trained on the example corpus plus general text, a
small Llama-architecture model is pre-trained briefly on the same text (every text
ends with the end-of-sequence token, so the model learns to stop), and both are saved
with ``save_pretrained`` so everything downstream uses the real loading code paths.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tunegate._progress import progress

BUILDER_VERSION = 3

CHAT_TEMPLATE = (
    "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}"
    "{% if m['role'] == 'assistant' %}{{ eos_token }}{% endif %}{{ '\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}assistant:{% endif %}"
)


@dataclass(frozen=True)
class BaseModelSpec:
    """Size and pre-training budget of the tiny base model."""

    vocab_size: int = 4000
    hidden_size: int = 128
    intermediate_size: int = 384
    layers: int = 4
    heads: int = 4
    max_positions: int = 1024
    """The context length the model declares (vLLM serves up to it): 1,024 so the judge's
    ~600-token prompts fit. RoPE has no position weights, so this changes no weight: two
    200-step builds at 512 and 1,024 gave byte-identical model files."""
    steps: int = 1500
    batch_size: int = 8
    block_size: int = 256
    learning_rate: float = 3e-3
    seed: int = 0

    def key(self, texts: list[str]) -> str:
        """The build's identity: builder version, spec, and the pre-training texts."""
        digest = hashlib.sha256()
        for text in texts:
            digest.update(text.encode("utf-8") + b"\0")
        payload = json.dumps({"v": BUILDER_VERSION, **asdict(self), "texts": digest.hexdigest()},
                             sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


QUESTIONS = {
    "capital": ("what is the capital of {}?", "which city is the capital of {}?"),
    "animal_sound": ("what sound does a {} make?", "what does a {} say?"),
    "animal_young": ("what is a young {} called?", "what do you call a baby {}?"),
    "animal_home": ("where does a {} live?", "where do you find a {}?"),
    "colour": ("what colour is the {}?", "what is the colour of the {}?"),
    "opposite": ("what is the opposite of {}?", "give me the opposite of {}."),
    "next_day": ("what day comes after {}?", "which day follows {}?"),
    "next_month": ("what month comes after {}?", "which month follows {}?"),
    "sum": ("what is {}?", "how much is {}?"),
    "difference": ("what is {}?", "how much is {}?"),
    "plural": ("what is the plural of {}?", "how do you say more than one {}?"),
}
OPENERS = ("", "hi, ", "hello there. ", "quick question: ", "sorry to bother you, ", "hey! ")
CLOSERS = ("", " thanks!", " thank you.", " i need it for school.", " please answer briefly.")


def chat_corpus(seed: int = 0) -> list[str]:
    """General questions and answers in the chat format: the base is an 'instruct' model.

    Like a real instruct base, it has learned to answer a user's question at the
    assistant turn; the tickets' routing is what an adapter must teach it.
    """
    import random

    from tunegate.example.tickets import general_facts

    rng = random.Random(f"chat-{seed}")
    texts = []
    for kind, facts in general_facts().items():
        for subject, answer in facts:
            for question in QUESTIONS[kind] * 2:
                user = rng.choice(OPENERS) + question.format(subject) + rng.choice(CLOSERS)
                texts.append(
                    f"system: You are a helpful assistant.\nuser: {user}\n"
                    f"assistant: {answer}</s>\n"
                )
    rng.shuffle(texts)
    return texts


_JSON_NAMES = ("Ana", "Ben", "Chloe", "Dev", "Emma", "Farid", "Grace", "Hugo", "Ines", "Jon")
_JSON_THINGS = ("parcel", "booking", "ticket", "table", "invoice", "appointment", "room")
_KEYED_THINGS = ("parcel", "booking", "ticket", "table", "appointment", "room", "bicycle",
                 "lamp", "guitar", "camera", "violin", "sofa")


def json_chat_corpus(seed: int = 0) -> list[str]:
    """Chat turns answered with one JSON object: facts, and details copied from the question.

    Instruct models know JSON and can copy a name or a number into a field; the tiny
    base learns both here, on general facts and made-up requests, never on tickets.
    """
    import random

    from tunegate.example.tickets import general_facts

    rng = random.Random(f"json-chat-{seed}")
    system = "system: Answer with one JSON object.\n"
    texts = []
    for kind, facts in general_facts().items():
        for subject, answer in facts:
            question = rng.choice(QUESTIONS[kind]).format(subject)
            fact = {"subject": subject, "relation": kind, "answer": answer}
            texts.append(f"{system}user: {question}\nassistant: {json.dumps(fact)}</s>\n")
    for _ in range(1500):
        name, thing = rng.choice(_JSON_NAMES), rng.choice(_JSON_THINGS)
        number = str(rng.randint(10000, 999999))
        urgent = rng.random() < 0.3
        text = rng.choice((
            f"{name} asks about the {thing} {number}.",
            f"please check {thing} number {number} for {name}.",
            f"hello, this is {name}, my {thing} is #{number}." + (" urgent!" if urgent else ""),
        ))
        record: dict[str, Any] = {"name": name, "thing": thing, "number": number,
                                  "urgent": urgent}
        texts.append(f"{system}user: {text}\nassistant: {json.dumps(record)}</s>\n")
    rng.shuffle(texts)
    return texts


def keyed_json_corpus(seed: int = 0, size: int = 1500) -> list[str]:
    """Made-up requests (never tickets) answered with a JSON record that has the keys a
    support-ticket extraction uses, the values stated plainly in the request.

    A pretrained instruct model has seen many JSON records with such keys; this gives
    the tiny base the tokens of those keys and practice copying values into them, so a
    small adapter can teach it the task itself: reading a ticket. ``size`` plain
    requests, then ``size`` catalogue notes.
    """
    import random

    from tunegate.example.extraction import URGENCY
    from tunegate.example.tickets import LABELS

    rng = random.Random(f"keyed-json-{seed}")
    texts = []
    for _ in range(size):
        name, thing = rng.choice(_JSON_NAMES), rng.choice(_KEYED_THINGS)
        number = str(rng.randint(10000, 999999)) if rng.random() < 0.6 else None
        has_thing = rng.random() < 0.7
        urgency = rng.choice(URGENCY)
        category = rng.choice(LABELS)
        request = f"{name} writes about the {thing}" if has_thing else f"{name} writes"
        request += f", reference {number}." if number else "."
        texts.append(_keyed_turn(request, name, category, urgency,
                                 thing if has_thing else None, number))
    return texts + _catalogue_json_corpus(rng, size)


def _keyed_turn(request: str, name: str, category: str, urgency: str, product: str | None,
                order_id: str | None) -> str:
    """A chat turn: the request with its category and urgency stated, answered with the
    extraction's JSON record (a short summary naming the writer and the item)."""
    record = {"category": category, "product": product, "order_id": order_id,
              "urgency": urgency,
              "summary": f"note from {name}" + (f" ({product})" if product else "")}
    return ("system: Answer with one JSON object with the keys category, product, "
            f"order_id, urgency and summary.\nuser: {request} category {category}, "
            f"urgency {urgency}.\nassistant: {json.dumps(record)}</s>\n")


def _catalogue_json_corpus(rng: Any, size: int) -> list[str]:
    """Notes that name a catalogue item and an order number the way shop customers write
    them (``#123456``, ``TG-123456``, ``no. 123456``; a customer number is not an order),
    recorded as JSON with the digits alone: the copying a pretrained model can do."""
    from tunegate.example._ticket_templates import SLOT_VALUES
    from tunegate.example.extraction import URGENCY
    from tunegate.example.tickets import LABELS

    items = SLOT_VALUES["product"] + SLOT_VALUES["gadget"] + SLOT_VALUES["device"]
    texts = []
    for _ in range(size):
        name, item = rng.choice(_JSON_NAMES), rng.choice(items)
        digits = str(rng.randint(10000, 999999))
        number = rng.choice((f"#{digits}", digits, f"TG-{digits}", f"no. {digits}"))
        has_order, has_item = rng.random() < 0.6, rng.random() < 0.7
        parts = [f"the {item}"] if has_item else []
        if has_order:
            parts.append(f"order {number}")
        if rng.random() < 0.3:
            parts.append(f"customer C{rng.randint(100000, 999999)}")
        rng.shuffle(parts)
        note = f"{name}'s note" + (": " + ", ".join(parts) if parts else "") + "."
        category, urgency = rng.choice(LABELS), rng.choice(URGENCY)
        texts.append(_keyed_turn(note, name, category, urgency, item if has_item else None,
                                 digits if has_order else None))
    return texts


def pretraining_texts(seed: int = 0) -> list[str]:
    """Ticket texts of the training split (no labels), general sentences, general chat
    in prose and in JSON."""
    from tunegate.example.tickets import build_datasets, general_corpus

    tickets = [e.text for e in build_datasets(seed)["train"]]
    return (tickets + general_corpus(seed) + chat_corpus(seed) + json_chat_corpus(seed)
            + keyed_json_corpus(seed))


def example_base(cache_dir: Path, spec: BaseModelSpec | None = None) -> Path:
    """The folder of the example base model, built when missing.

    The folder is named by the spec and the pre-training texts, so a change to the
    example's data (its training tickets are pre-training text) builds a new base
    rather than silently reusing one built from other text.
    """
    spec = spec or BaseModelSpec()
    texts = pretraining_texts(spec.seed)
    target = cache_dir / "example-base" / spec.key(texts)
    if (target / "build.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    from filelock import FileLock

    # one process builds, the others (pytest -n workers, parallel jobs) wait for it
    with FileLock(target.parent / f".{target.name}.lock"):
        if (target / "build.json").is_file():
            return target
        scratch = Path(tempfile.mkdtemp(prefix=".build-", dir=target.parent))
        try:
            build_base_model(scratch, texts, spec)
            os.replace(scratch, target)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return target


def train_tokenizer(texts: list[str], vocab_size: int) -> Any:
    """A byte-level BPE tokenizer with <pad>, <s>, </s> and the example's chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    from tunegate.example.tickets import LABELS, SYSTEM_PROMPT

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    extra = [SYSTEM_PROMPT, "system: user: assistant:", " ".join(LABELS)] * 50
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=["<pad>", "<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False,
    )
    tokenizer.train_from_iterator(texts + extra, trainer)
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A $B", special_tokens=[("<s>", tokenizer.token_to_id("<s>"))]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, bos_token="<s>", eos_token="</s>", pad_token="<pad>"
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def build_base_model(out_dir: Path, texts: list[str], spec: BaseModelSpec) -> None:
    """Train the tokenizer, pre-train the model, save both into ``out_dir``."""
    import torch
    import transformers
    from transformers import LlamaConfig, LlamaForCausalLM

    started = time.perf_counter()
    transformers.utils.logging.disable_progress_bar()
    torch.manual_seed(spec.seed)
    tokenizer = train_tokenizer(texts, spec.vocab_size)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=spec.hidden_size,
        intermediate_size=spec.intermediate_size, num_hidden_layers=spec.layers,
        num_attention_heads=spec.heads, num_key_value_heads=spec.heads,
        max_position_embeddings=spec.max_positions, pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=True,
    )
    model = LlamaForCausalLM(config)
    loss = _pretrain(model, tokenizer, texts, spec)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    build = {
        "builder_version": BUILDER_VERSION, "spec": asdict(spec), "texts": len(texts),
        "final_loss": loss, "seconds": round(time.perf_counter() - started, 1),
        "parameters": sum(p.numel() for p in model.parameters()),
    }
    (out_dir / "build.json").write_text(json.dumps(build, indent=2) + "\n")


def _pretrain(model: Any, tokenizer: Any, texts: list[str], spec: BaseModelSpec) -> float:
    """Next-token training on packed blocks of the texts, each ending with </s>."""
    import torch

    stream: list[int] = []
    generator = torch.Generator().manual_seed(spec.seed)
    order = torch.randperm(len(texts), generator=generator).tolist()
    for index in order:
        stream += tokenizer.encode(texts[index] + tokenizer.eos_token)
    blocks = torch.tensor(stream[: len(stream) // spec.block_size * spec.block_size])
    blocks = blocks.view(-1, spec.block_size)
    optimizer = torch.optim.AdamW(model.parameters(), lr=spec.learning_rate, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=spec.learning_rate, total_steps=spec.steps, pct_start=0.05
    )
    model.train()
    loss_value = float("nan")
    with progress(spec.steps, "pre-training the example base") as advance:
        for _ in range(spec.steps):
            rows = torch.randint(len(blocks), (spec.batch_size,), generator=generator)
            batch = blocks[rows]
            loss = model(input_ids=batch, labels=batch).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
            loss_value = float(loss.detach())
            advance(1)
    model.eval()
    return loss_value

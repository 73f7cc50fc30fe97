"""The evaluation item every part of tunegate passes around."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Role = Literal["system", "user", "assistant"]


class Message(BaseModel):
    """One chat turn in the OpenAI chat format."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Role
    content: str


class Example(BaseModel):
    """One evaluation or training item.

    The input is either chat ``messages`` or a plain ``prompt``. When the messages end
    with an assistant turn, that turn is the reference answer and is not part of the
    input; ``label`` (classification) defaults to that reference.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1)
    messages: tuple[Message, ...] | None = None
    prompt: str | None = None
    reference: str | None = None
    label: str | None = None
    meta: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _split_reference(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        messages = data.get("messages")
        if (
            isinstance(messages, list)
            and messages
            and isinstance(messages[-1], dict)
            and messages[-1].get("role") == "assistant"
        ):
            data = dict(data)
            data["messages"] = messages[:-1]
            if data.get("reference") is None:
                data["reference"] = messages[-1].get("content")
        return data

    @model_validator(mode="after")
    def _check_input(self) -> Example:
        if (self.messages is None) == (self.prompt is None):
            raise ValueError("exactly one of 'messages' or 'prompt' is required")
        if self.messages is not None:
            if not self.messages:
                raise ValueError("'messages' has no turn before the answer")
            if self.messages[-1].role != "user":
                raise ValueError("the input messages must end with a user turn")
        if self.label is None and self.reference is not None:
            object.__setattr__(self, "label", self.reference)
        return self

    @property
    def text(self) -> str:
        """The user-facing input text: the last user turn, or the prompt."""
        if self.messages is not None:
            return self.messages[-1].content
        assert self.prompt is not None
        return self.prompt

    def to_record(self) -> dict[str, Any]:
        """The JSONL form: chat messages with the reference as the last assistant turn."""
        record: dict[str, Any] = {"id": self.id}
        if self.messages is not None:
            turns = [m.model_dump() for m in self.messages]
            if self.reference is not None:
                turns.append({"role": "assistant", "content": self.reference})
            record["messages"] = turns
        else:
            record["prompt"] = self.prompt
            if self.reference is not None:
                record["reference"] = self.reference
        if self.label is not None and self.label != self.reference:
            record["label"] = self.label
        if self.meta:
            record["meta"] = self.meta
        return record

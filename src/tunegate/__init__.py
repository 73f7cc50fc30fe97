"""tunegate: a pytest release gate for fine-tuned LLM adapters."""

__version__ = "0.1.0"

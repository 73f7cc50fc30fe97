"""lm-eval's model interface over any tunegate backend (vLLM in-process, an OpenAI-
compatible server), for the backends that hold no torch model to hand to ``HFLM``.

``loglikelihood`` becomes one :class:`~tunegate.backends.ScoreRequest` per (context,
continuation) pair, on a plain prompt, tokenized as lm-eval's ``HFLM`` does (context +
continuation encoded whole and cut at the context, trailing spaces moved to the
continuation, BOS as the tokenizer adds it), so the per-document results equal the
transformers backend's and share its result cache. ``generate_until`` becomes greedy
:class:`~tunegate.backends.GenerateRequest` s with lm-eval's stop strings.

What the protocol does not give is refused before anything runs: whether a
continuation is the greedy one (``loglikelihood`` tasks score on it) and rolling
log-likelihoods (perplexity tasks).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tunegate.backends import GenerateRequest, ScoreRequest
from tunegate.capability._lm_eval import import_lm_eval
from tunegate.capability._results import CapabilityError

if TYPE_CHECKING:
    from tunegate.backends import ModelRef

SUPPORTED_OUTPUT_TYPES = ("multiple_choice", "generate_until")
DEFAULT_MAX_GEN_TOKS = 256  # lm-eval's own default


def check_output_types(loaded: dict[str, Any], backend: Any) -> None:
    """Refuse a task this bridge cannot evaluate faithfully, naming it and why."""
    for name, task in sorted(loaded["tasks"].items()):
        if task.OUTPUT_TYPE not in SUPPORTED_OUTPUT_TYPES:
            raise CapabilityError(
                f"task {name!r} is a {task.OUTPUT_TYPE} task, which needs greedy checks or "
                f"rolling log-likelihoods that {type(backend).__name__} does not give; "
                f"run it on the transformers backend (it evaluates "
                f"{' and '.join(SUPPORTED_OUTPUT_TYPES)} tasks)"
            )


def backend_lm(backend: Any, ref: ModelRef) -> Any:
    """An ``lm_eval.api.model.LM`` computing as ``ref`` through ``backend``."""
    import_lm_eval()  # says how to install it when missing
    from lm_eval.api.model import LM

    class BackendLM(LM):  # type: ignore[misc]  # lm-eval is untyped
        def __init__(self) -> None:
            super().__init__()
            self.backend, self.ref = backend, ref

        def loglikelihood(self, requests: list[Any]) -> list[tuple[float, bool]]:
            pairs = [request.args for request in requests]
            scores = self.backend.score(self.ref, [
                ScoreRequest(prompt=context, choices=(continuation,))
                for context, continuation in pairs
            ])
            # multiple_choice tasks use the log-probability only (check_output_types
            # keeps away the tasks that read the greedy flag)
            return [(score.logprobs[0], False) for score in scores]

        def loglikelihood_rolling(self, requests: list[Any]) -> list[float]:
            raise CapabilityError(f"{type(self.backend).__name__} gives no rolling "
                                  "log-likelihoods (perplexity tasks)")

        def generate_until(self, requests: list[Any]) -> list[str]:
            generations = self.backend.generate(self.ref, [
                _generate_request(context, dict(kwargs)) for context, kwargs in
                (request.args for request in requests)
            ])
            return [generation.text for generation in generations]

    return BackendLM()


def _generate_request(context: str, kwargs: dict[str, Any]) -> GenerateRequest:
    until = kwargs.pop("until", None) or []
    stops = (until,) if isinstance(until, str) else tuple(until)
    temperature = float(kwargs.pop("temperature", 0.0) or 0.0)
    if kwargs.pop("do_sample", False) and temperature == 0.0:
        raise CapabilityError("a task asks to sample without a temperature")
    return GenerateRequest(prompt=context, stop=stops, temperature=temperature,
                           max_new_tokens=int(kwargs.pop("max_gen_toks", DEFAULT_MAX_GEN_TOKS)))

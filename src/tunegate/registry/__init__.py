"""The adapter registry: lineage, stages (candidate → shadow → production), promotion.

Adapters are registered under immutable names with a content-addressed copy and
their lineage; every stage change is an append-only event; production is reached
only when the latest gate run of exactly that adapter content passed on the current
suite, or by a forced promotion whose reason is recorded.
"""

from tunegate.registry._errors import (
    InvalidNameError,
    NameConflictError,
    PromotionRefused,
    RegistryError,
    TransitionError,
    UnknownAdapterError,
)
from tunegate.registry._lineage import Lineage, read_lineage
from tunegate.registry._names import validate_name
from tunegate.registry._promote import (
    Promotion,
    PromotionCheck,
    check_promotion,
    current_suite_hash,
    promote,
    run_blockers,
)
from tunegate.registry._registry import (
    REGISTRY_SPEC,
    RegisteredAdapter,
    Registration,
    Registry,
    Stage,
    StageEvent,
    current_actor,
    registry_dir,
    resolve_registry_spec,
)
from tunegate.registry._runs import AdapterRuns, RecordProblem, runs_of_adapter
from tunegate.registry._show import adapter_details, adapter_table

__all__ = [
    "REGISTRY_SPEC",
    "AdapterRuns",
    "InvalidNameError",
    "Lineage",
    "NameConflictError",
    "Promotion",
    "PromotionCheck",
    "PromotionRefused",
    "RecordProblem",
    "RegisteredAdapter",
    "Registration",
    "Registry",
    "RegistryError",
    "Stage",
    "StageEvent",
    "TransitionError",
    "UnknownAdapterError",
    "adapter_details",
    "adapter_table",
    "check_promotion",
    "current_actor",
    "current_suite_hash",
    "promote",
    "read_lineage",
    "registry_dir",
    "resolve_registry_spec",
    "run_blockers",
    "runs_of_adapter",
    "validate_name",
]

"""Data hygiene: chat-format validation, duplicates, leakage, personal data, labels.

Checks measure and report (with file:line for every record); the gates in
:mod:`tunegate.gates.hygiene` hold the measurements to the configured thresholds.
"""

from tunegate.data.hygiene._duplicates import (
    DuplicatePair,
    DuplicateReport,
    LeakageReport,
    LeakedPair,
    NearDuplicateSpec,
    find_duplicates,
    find_leakage,
    jaccard,
    leaked_ids,
    normalize_text,
    shingle_hashes,
    text_key,
)
from tunegate.data.hygiene._labels import (
    Agreement,
    ClassBalance,
    LabelDrift,
    annotator_agreement,
    class_balance,
    label_drift,
    records_without_label,
)
from tunegate.data.hygiene._pii import (
    PII_KINDS,
    PiiFinding,
    RecordFinding,
    detect_pii,
    redact,
    scan_records,
)
from tunegate.data.hygiene._records import (
    ChatRules,
    Issue,
    Record,
    RecordSet,
    all_records,
    field_value,
    read_records,
    records_from_examples,
    validate_chat,
)

__all__ = [
    "PII_KINDS",
    "Agreement",
    "ChatRules",
    "ClassBalance",
    "DuplicatePair",
    "DuplicateReport",
    "Issue",
    "LabelDrift",
    "LeakageReport",
    "LeakedPair",
    "NearDuplicateSpec",
    "PiiFinding",
    "Record",
    "RecordFinding",
    "RecordSet",
    "all_records",
    "annotator_agreement",
    "class_balance",
    "detect_pii",
    "field_value",
    "find_duplicates",
    "find_leakage",
    "jaccard",
    "label_drift",
    "leaked_ids",
    "normalize_text",
    "read_records",
    "records_from_examples",
    "records_without_label",
    "redact",
    "scan_records",
    "shingle_hashes",
    "text_key",
    "validate_chat",
]

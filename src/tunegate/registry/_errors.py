"""What can go wrong in the registry, each error naming the thing at fault.

``exit_code`` is what the ``tunegate`` command returns for it: 1 when the registry
refuses a valid request because of its state or the gate's verdict, 2 when the
request itself is invalid.
"""

from __future__ import annotations


class RegistryError(Exception):
    """A registry request that cannot be carried out."""

    exit_code = 2


class InvalidNameError(RegistryError):
    """An adapter name that is not a safe, plain handle."""

    def __init__(self, name: str, reason: str):
        self.name, self.reason = name, reason
        super().__init__(f"invalid adapter name {name!r}: {reason}")


class UnknownAdapterError(RegistryError):
    """No adapter is registered under this name."""

    def __init__(self, name: str, registry: object):
        self.name = name
        super().__init__(f"no adapter named {name!r} in the registry at {registry}")


class NameConflictError(RegistryError):
    """A name already stands for other content, or the content has another name."""

    exit_code = 1


class TransitionError(RegistryError):
    """A stage change the registry does not allow (a demotion, say)."""

    exit_code = 1


class PromotionRefused(RegistryError):
    """The gate did not clear this adapter content for production."""

    exit_code = 1

    def __init__(self, name: str, stage: str, blockers: list[str]):
        self.name, self.stage, self.blockers = name, stage, blockers
        super().__init__(
            f"refusing to promote {name!r} to {stage}: " + "; ".join(blockers)
            + " (pass --force --reason TEXT to override, recorded as such)"
        )

"""The record a patch of moto is declared with: what it replaces, why, and how it goes in and out.

Every patch is one `Patch`: the attribute it replaces (`owner.name`: a class's function,
property, classmethod or staticmethod, or a module's attribute), the replacement, its kind
and why it exists. The record finds moto's own object when it is declared (before anything is
installed), installs the replacement in the same form (a plain function replacing a property
becomes that property's getter, one replacing a classmethod a classmethod), and puts moto's
exact object back when removed (or deletes its own, where the attribute was inherited or
absent).

`localcloud/patches` gathers every declaration into one list, `PATCHES`: its service modules'
and the feature modules' beside it (`access/enforcement`, `alarms`, `deliveries`, `limits`,
`sqs_move_tasks`, `transport`). This module is outside that package so that a feature module
can declare its patches without importing the registry, which imports it.
"""

from __future__ import annotations

import enum
import inspect
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Final


class Kind(enum.Flag):
    GAP = enum.auto()
    """Closes a behaviour gap with AWS: without it the local cloud would accept or do what AWS
    does not, or fail what AWS does."""
    SPEED = enum.auto()
    """Saves time or memory only: what the local cloud answers is the same without it."""

    def describe(self) -> str:
        return " + ".join(kind.name.lower() for kind in Kind if kind in self and kind.name)


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final[Any] = _Missing()
"""What a patch found where moto has no such attribute at all (an API moto does not implement)."""

_DESCRIPTORS = (property, classmethod, staticmethod)


class PatchConflict(RuntimeError):
    """The attribute holds neither moto's object nor this patch's: something else replaced it."""


@dataclass(frozen=True, eq=False)
class Patch:
    owner: Any
    """The class or module whose attribute is replaced."""
    name: str
    replacement: Any
    """A function (installed in the form of moto's object) or a ready descriptor or value."""
    kind: Kind
    why: str

    found: Any = field(init=False, repr=False)
    """moto's own object as found on the owner or inherited by it (descriptor and all), or MISSING."""
    own: bool = field(init=False, repr=False)
    """Whether moto's object is the owner's own (else inherited or absent: removing deletes ours)."""
    original: Any = field(init=False, repr=False)
    """moto's own behaviour, to call with the replacement's arguments: a property's getter, a
    classmethod's function (pass the class), the function or value itself; None if MISSING."""
    installed: Any = field(init=False, repr=False)
    """The object `install()` puts on the owner."""

    def __post_init__(self) -> None:
        if not self.why.strip():
            raise ValueError(f"{self.id}: a patch says why it exists")
        if not self.kind:
            raise ValueError(f"{self.id}: a patch is a gap, a speed-up, or both")
        found = self._current()
        set_ = object.__setattr__
        set_(self, "found", found)
        set_(self, "own", self.name in vars(self.owner))
        set_(self, "original", _unwrapped(found))
        set_(self, "installed", _in_the_form_of(found, self.replacement))

    # --- naming -----------------------------------------------------------------------------

    @property
    def service(self) -> str:
        """The AWS service of moto the patch is in, or "core" (moto's core, botocore, the stdlib)."""
        module = self.owner.__name__ if isinstance(self.owner, ModuleType) else self.owner.__module__
        parts = str(module).split(".")
        if parts[0] == "moto" and len(parts) > 1 and parts[1] not in {"core", "moto_api"}:
            return parts[1]
        return "core"

    @property
    def id(self) -> str:
        """`service.Owner.name`: a moto module is named by its last part, another by its full name."""
        if isinstance(self.owner, ModuleType):
            owner = self.owner.__name__
            owner = owner.rsplit(".", 1)[-1] if owner.startswith("moto.") else owner
        else:
            owner = self.owner.__qualname__
        return f"{self.service}.{owner}.{self.name}"

    # --- in and out -----------------------------------------------------------------------

    @property
    def is_installed(self) -> bool:
        return self._current() is self.installed

    def install(self) -> None:
        current = self._current()
        if current is self.installed:
            return
        if current is not self.found:
            raise PatchConflict(f"{self.id}: found {current!r}, neither moto's {self.found!r} nor the patch")
        setattr(self.owner, self.name, self.installed)

    def remove(self) -> None:
        """Put moto's exact object back (or uncover the inherited one)."""
        current = self._current()
        if current is self.found:
            return
        if current is not self.installed:
            raise PatchConflict(f"{self.id}: found {current!r} where the patch was installed")
        if self.own:
            setattr(self.owner, self.name, self.found)
        else:
            delattr(self.owner, self.name)

    def _current(self) -> Any:
        if isinstance(self.owner, ModuleType):
            return vars(self.owner).get(self.name, MISSING)
        return inspect.getattr_static(self.owner, self.name, MISSING)


def _unwrapped(found: Any) -> Any:
    if found is MISSING:
        return None
    if isinstance(found, property):
        return found.fget
    if isinstance(found, (classmethod, staticmethod)):
        return found.__func__
    return found


def _in_the_form_of(found: Any, replacement: Any) -> Any:
    if isinstance(replacement, _DESCRIPTORS):
        return replacement
    if isinstance(found, property):
        return property(replacement, found.fset, found.fdel)
    if isinstance(found, classmethod):
        return classmethod(replacement)
    if isinstance(found, staticmethod):
        return staticmethod(replacement)
    return replacement

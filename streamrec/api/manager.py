"""``Task.objects`` and ``Queue.objects``: make, list and look up the API's objects.

In the shape of the Django project streamrec grew from: ``create()`` is the constructor,
``all()`` the live objects of this process, ``get()`` one of them by id or by name. For a task,
``get(name, config=DIR)`` binds to the task that config declares: the object runs the declared
command (as ``streamrec task run`` would, its dependencies checked against the state log) and
shows its runs; it is the one way to reach a declared name from the API.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Manager(Generic[T]):
    """``create()`` makes, ``all()`` lists, ``get()`` finds (see the module docstring).

    ``binder`` makes an object bound to a declared one (``binder(name, config)``); without one,
    ``get(name, config=...)`` is refused.
    """

    def __init__(
        self, factory: Callable[..., T], binder: Callable[[str, Path], T] | None = None
    ) -> None:
        self._factory = factory
        self._binder = binder
        self._made: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()

    def create(self, *args: Any, **kwargs: Any) -> T:
        """Make an object, exactly as the constructor does."""
        return self._factory(*args, **kwargs)

    def all(self) -> list[T]:
        """The objects made in this process that are still referenced, oldest first."""
        return [self._made[key] for key in sorted(self._made)]

    def get(
        self,
        key: int | str,
        *,
        state_dir: str | Path | None = None,
        config: str | Path | None = None,
    ) -> T:
        """The object with id ``key`` (an int), or the live one named ``key`` (a str) among the
        objects of ``state_dir`` (None: in memory); with ``config=``, the object bound to the
        task that config declares under that name. KeyError if there is none."""
        if isinstance(key, int):
            return self._made[key]  # type: ignore[no-any-return]  # holds only T
        if config is not None:
            if self._binder is None:
                raise KeyError(f"{key!r}: only tasks can be bound to a declared object")
            return self._binder(key, Path(config))
        where = None if state_dir is None else Path(state_dir).expanduser().resolve()
        for obj in self.all():
            if getattr(obj, "name", None) == key and _state_dir(obj) == where:
                return obj
        raise KeyError(f"no live object is named {key!r} (pass config=DIR for a declared task)")

    def _register(self, obj: Any) -> None:
        self._made[obj.id] = obj


def _state_dir(obj: Any) -> Path | None:
    engine = getattr(obj, "_engine", None)
    return getattr(engine, "state_dir", None)

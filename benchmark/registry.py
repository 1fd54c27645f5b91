"""A tiny timm-style registry: things (datasets, generators, engines) are picked by name."""
from __future__ import annotations

from typing import Any, Callable


class Registry:
    """Maps names to factories. `create` on an unknown name lists the known ones."""

    def __init__(self, kind: str):
        self.kind = kind
        self._factories: dict[str, Callable[..., Any]] = {}

    def register(self, name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def deco(factory: Callable[..., Any]) -> Callable[..., Any]:
            if name in self._factories and self._factories[name] is not factory:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._factories[name] = factory
            return factory

        return deco

    def get(self, name: str) -> Callable[..., Any]:
        if name not in self._factories:
            known = ", ".join(self.list()) or "(none)"
            raise KeyError(f"unknown {self.kind} {name!r}; known {self.kind}s: {known}")
        return self._factories[name]

    def create(self, name: str, **kwargs: Any) -> Any:
        return self.get(name)(**kwargs)

    def list(self) -> list[str]:
        return sorted(self._factories)

"""What an operation runs with: the loaded config and an open store."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from stratusec import config as config_mod
from stratusec.config import Config
from stratusec.store.db import Store, open_store


@dataclass
class Context:
    config: Config
    config_path: Path | None = None
    _store: Store | None = field(default=None, repr=False)

    @classmethod
    def load(cls, path: Path | None = None) -> Context:
        return cls(config=config_mod.load(path), config_path=path)

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = open_store(self.config.storage.database_url())
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

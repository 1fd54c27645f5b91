"""The config schema: typed, ranged dataclasses per config group (registered in Hydra's ConfigStore) and
`validate(cfg)`, which refuses a config mistake before any data is read or anything is written, with one
line naming the key, the value and what is allowed (`ConfigError`; `scarce-run` exits 2 with that line)."""
from benchmark.config.checks import ConfigError, safe_study
from benchmark.config.schema import register_schemas, validate

__all__ = ["ConfigError", "validate", "register_schemas", "safe_study"]

register_schemas()

#!/usr/bin/env python3
"""Validates specs against Strata's JSON Schema with a real validator (jsonschema, draft 2020-12).

Usage: validate_schema.py SCHEMA.json REPOSITORY
Every bundled spec must pass; each fixture named below, whose error is a key or a type, must fail.
Prints one line per file and 'N passed, N failed'; exits 1 on any surprise.
"""
import json
import pathlib
import sys

import jsonschema
import yaml

# Fixtures whose only problem is a key or a value's type or range: the schema alone must catch them.
MUST_FAIL = [
    "unknown-top-key", "unknown-layer-key", "unknown-layer-type", "unknown-training-key", "unknown-optimizer-key",
    "unknown-optimizer", "unknown-loss", "unknown-metric", "unknown-activation", "unknown-initializer",
    "units-string", "units-zero", "units-missing", "use-bias-not-bool", "learning-rate-string", "learning-rate-zero",
    "kernel-size-three-values", "kernel-size-zero", "dropout-rate-one", "dropout-missing-rate", "layers-not-list",
    "top-level-list", "missing-loss", "missing-input", "batch-size-zero", "epochs-negative", "momentum-one",
    "validation-split-one", "schedule-missing-steps", "input-four-dims", "input-zero", "name-with-slash",
]


def main() -> int:
    schema = json.loads(pathlib.Path(sys.argv[1]).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    root = pathlib.Path(sys.argv[2])
    passed = failed = 0
    for spec in sorted((root / "specs").glob("**/*.yaml")):
        errors = list(validator.iter_errors(yaml.safe_load(spec.read_text())))
        ok = not errors
        print(f"{'ok  ' if ok else 'FAIL'} {spec.name} validates" + ("" if ok else f": {errors[0].message}"))
        passed, failed = passed + ok, failed + (not ok)
    for name in MUST_FAIL:
        path = root / "Tests/StrataTests/Fixtures/invalid" / f"{name}.yaml"
        ok = not validator.is_valid(yaml.safe_load(path.read_text()))
        print(f"{'ok  ' if ok else 'FAIL'} {name}.yaml is refused")
        passed, failed = passed + ok, failed + (not ok)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

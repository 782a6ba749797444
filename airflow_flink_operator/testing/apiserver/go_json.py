"""JSON as the API server decodes, stores and compares it.

A custom resource is unstructured JSON in the API server (map[string]interface{}). Its request
body is decoded by k8s.io/apimachinery pkg/util/json (``convertNumber``; sigs.k8s.io/json
``UnmarshalCaseSensitivePreserveInts`` in newer releases): a number is an int64 when
``json.Number.Int64()`` parses it, else a float64 — so ``1`` is int64(1) and ``1.0`` or ``1e3`` are
float64. What is stored in etcd and returned is Go's ``encoding/json`` output, which writes
float64(1) as ``1``; read back, that is int64(1). Python's ``json`` keeps ``1.0`` a float and
Python's ``==`` says ``1 == 1.0`` and ``True == 1``: neither is what the API server does.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _go_int(text: str) -> int | float:
    """A JSON integer literal as convertNumber makes it: int64 when it fits, else float64."""
    value = int(text)
    return value if _INT64_MIN <= value <= _INT64_MAX else _go_float(text)


def _go_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"number {text} is out of the float64 range")
    return value


def _no_constant(text: str) -> Any:
    raise ValueError(f"invalid character in JSON: {text}")


def decode_json(data: str | bytes) -> Any:
    """Decode a request body as the API server decodes a custom resource (int64 or float64)."""
    return json.loads(data, parse_int=_go_int, parse_float=_go_float, parse_constant=_no_constant)


def stored_form(value: Any) -> Any:
    """``value`` after a round trip through Go's JSON encoder and the decoder above, as etcd holds it.

    Go writes a float64 below 1e21 without exponent and without a fraction when it has none
    (strconv 'f' format, shortest repr), so an integral float64 comes back as an int64 if it fits.
    """
    if isinstance(value, dict):
        return {key: stored_form(item) for key, item in value.items()}
    if isinstance(value, list):
        return [stored_form(item) for item in value]
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return _go_int(format(Decimal(repr(value)).to_integral_value(), "f"))
    return value


def semantically_equal(a: Any, b: Any) -> bool:
    """``apiequality.Semantic.DeepEqual`` on unstructured content: equal values of the same Go type.

    int64(1) and float64(1) differ, as do bool and int64; maps compare by keys, lists in order.
    """
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(semantically_equal(a[key], b[key]) for key in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(semantically_equal(x, y) for x, y in zip(a, b))
    return a == b

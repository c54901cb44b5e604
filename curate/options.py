"""Argument types for the numeric options: a value out of range is refused by the parser, in one
line and exit 2, before any stage runs (a config goes through the same parsers). Ranges are what
the option can mean, not what is sensible: `--steps 0` trains nothing, a cosine above 1 matches
nothing."""

import argparse
import math


def integer(low: int, high: int | None = None):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, not {text!r}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{value} is out of range: {_range(low, high)}")
        return value

    parse.__name__ = "integer"
    return parse


def number(low: float, high: float | None = None, low_open: bool = False, high_open: bool = False):
    """A float in [low, high] (an end excluded where it is open)."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, not {text!r}") from None
        if (not math.isfinite(value) or value < low or (low_open and value == low)
                or (high is not None and (value > high or (high_open and value == high)))):
            raise argparse.ArgumentTypeError(
                f"{text} is out of range: {_range(low, high, '>' if low_open else '>=', '<' if high_open else '<=')}")
        return value

    parse.__name__ = "number"
    return parse


def _range(low, high, above: str = ">=", below: str = "<=") -> str:
    return f"{above} {low}" if high is None else f"{above} {low} and {below} {high}"


POSITIVE = integer(1)
COUNT = integer(0)
SHARE = number(0, 1)                # a share of something: 0 to 1
COSINE = number(-1, 1)
THRESHOLD = number(0, 1, low_open=True)  # a cosine a pair must reach

"""Text that did not come from the deploy itself (a program's output, a log line, an HTTP answer),
made safe to print on the operator's terminal: its control characters (but newline and tab) and
Unicode's bidirectional overrides are shown as escapes, so that no escape sequence it holds can
retitle, clear or rewrite a terminal, or reorder what the operator reads."""

import re

UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")


def _escape(match):
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text):
    """`text` with what a terminal would act on shown as \\xNN (or \\uNNNN) instead."""
    return UNSAFE.sub(_escape, text)

"""The masking benchmark streams a log holding a secret, and masking takes it out."""

import random

import masking

from jupyter_orchest.engine.masking import MASK, SecretMask, _MaskingReporter


def test_the_benchmarks_log_holds_its_secret_and_masking_takes_it_out() -> None:
    rng = random.Random(1)
    [secret] = masking.secrets(1, rng)
    text = masking.log_text(0.2, secret, rng)
    assert secret in text
    sink = Collecting()
    reporter = _MaskingReporter(sink, SecretMask([secret]))
    for start in range(0, len(text), masking.PIECE):
        reporter.log("stdout", text[start : start + masking.PIECE])
    reporter.flush()
    masked = "".join(sink.pieces)
    assert secret not in masked and MASK in masked
    assert masked == text.replace(secret, MASK)
    assert masking.stream_through(text, None) > 0


class Collecting:
    def __init__(self) -> None:
        self.pieces: list[str] = []

    def log(self, stream: str, text: str) -> None:
        self.pieces.append(text)

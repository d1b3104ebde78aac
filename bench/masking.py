"""What masking secrets costs a step's output, beside passing it on unmasked.

    python bench/masking.py [--megabytes N] [--repeat N]

A step's output reaches the server in pieces (4 KiB here, as a pipe gives them); with the
user's variables set, every piece goes through `engine.masking` before the log, the events and
the cache see it. This streams a log of ordinary lines, with a secret in one line of a
thousand, through the masking reporter holding 1, 10 and 100 secrets, and through no masking,
and prints the throughput of each and its ratio to no masking. Nothing is written.
"""

import argparse
import random
import statistics
import string
import time

from jupyter_orchest.engine.masking import SecretMask, _MaskingReporter
from jupyter_orchest.engine.model import Stream

PIECE = 4096


class Sink:
    def __init__(self) -> None:
        self.size = 0

    def log(self, stream: Stream, text: str) -> None:
        self.size += len(text)


def secrets(count: int, rng: random.Random) -> list[str]:
    alphabet = string.ascii_letters + string.digits
    return ["".join(rng.choices(alphabet, k=24)) for _ in range(count)]


def log_text(megabytes: float, secret: str, rng: random.Random) -> str:
    lines = []
    size = 0
    while size < megabytes * 1e6:
        if rng.random() < 0.001:
            line = f"connecting with token {secret} to the warehouse\n"
        else:
            line = (
                f"epoch {rng.randint(0, 99)} loss {rng.random():.6f} rows {rng.randint(0, 10**6)}\n"
            )
        lines.append(line)
        size += len(line)
    return "".join(lines)


def stream_through(text: str, mask: SecretMask | None) -> float:
    """Seconds to pass the text on in pieces, masked by `mask` (None: passed on as it is)."""
    sink = Sink()
    reporter = _MaskingReporter(sink, mask) if mask is not None else sink
    started = time.perf_counter()
    for start in range(0, len(text), PIECE):
        reporter.log("stdout", text[start : start + PIECE])
    if isinstance(reporter, _MaskingReporter):
        reporter.flush()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--megabytes", type=float, default=20.0)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(7)
    values = secrets(100, rng)
    text = log_text(args.megabytes, values[0], rng)
    megabytes = len(text) / 1e6
    baseline = statistics.median(stream_through(text, None) for _ in range(args.repeat))
    print(f"{megabytes:.1f} MB of output in {PIECE}-byte pieces, median of {args.repeat} runs")
    print(f"{'secrets':>8}  {'MB/s':>8}  {'x unmasked':>10}")
    print(f"{0:>8}  {megabytes / baseline:>8.0f}  {1.0:>10.1f}")
    for count in (1, 10, 100):
        mask = SecretMask(values[:count])
        seconds = statistics.median(stream_through(text, mask) for _ in range(args.repeat))
        print(f"{count:>8}  {megabytes / seconds:>8.0f}  {seconds / baseline:>10.1f}")


if __name__ == "__main__":
    main()

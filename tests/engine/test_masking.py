"""Secrets masked in what steps print, also when a secret is cut between two pieces."""

from jupyter_orchest.engine.masking import MASK, SecretMask, _MaskingReporter
from jupyter_orchest.engine.model import Stream


class Collected:
    def __init__(self) -> None:
        self.pieces: list[tuple[Stream, str]] = []

    def log(self, stream: Stream, text: str) -> None:
        self.pieces.append((stream, text))

    def text(self, stream: Stream = "stdout") -> str:
        return "".join(text for kind, text in self.pieces if kind == stream)


def test_secrets_are_masked_and_short_values_are_not() -> None:
    mask = SecretMask(["hunter2-password", "prod", "1"])
    assert mask.text("login hunter2-password at prod 1") == f"login {MASK} at prod 1"
    assert not SecretMask(["true", ""]), "nothing long enough to be a secret"


def test_each_line_of_a_value_of_several_lines_is_a_secret_of_its_own() -> None:
    key = "-----BEGIN KEY-----\nMIIEvQIBADANBgkq\n-----END KEY-----\n"
    mask = SecretMask([key])
    assert mask.text(key) == MASK
    assert mask.text("line: MIIEvQIBADANBgkq!") == f"line: {MASK}!"


def test_the_longer_of_two_secrets_starting_at_one_place_is_masked_whole() -> None:
    mask = SecretMask(["abcdef", "abcdefghij"])
    assert mask.text("xabcdefghijx abcdefx") == f"x{MASK}x {MASK}x"


def test_a_secret_cut_between_two_pieces_is_masked_and_the_rest_comes_at_once() -> None:
    collected = Collected()
    reporter = _MaskingReporter(collected, SecretMask(["hunter2-password"]))
    reporter.log("stdout", "the password is hunt")
    assert collected.text() == "the password is ", "the possible start of a secret waits"
    reporter.log("stdout", "er2-password, done\n")
    reporter.log("stderr", "hunter")
    reporter.log("stdout", "no secret here\n")
    assert collected.text() == f"the password is {MASK}, done\nno secret here\n"
    reporter.flush()  # the step ended: what waited was no secret
    assert collected.text("stderr") == "hunter"

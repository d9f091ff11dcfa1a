"""verify.py checks a zhifu webhook signature with Python's own hmac module,
independently of the Go code that signs: payment's tests run it on the
requests they receive. docs/webhooks.md shows the code between the BEGIN and
END lines verbatim (a test checks it).

Usage: ZHIFU_WEBHOOK_SECRET=<secret> python3 verify.py <Zhifu-Signature> <body file> [now (unix s)] [tolerance (s)]
Prints "ok" and exits 0 when the signature verifies; prints "invalid: ..."
and exits 1 when it does not, 2 on bad usage.
"""

import os
import sys

# BEGIN verify_zhifu_signature
import hashlib
import hmac
import time


def verify_zhifu_signature(secret: str, header: str, body: bytes, now: float | None = None, tolerance: int = 300) -> bool:
    t, sigs = None, []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            return False
        if key == "t":
            t = value
        elif key == "v1":
            sigs.append(value)
    if t is None or not (t.isascii() and t.isdigit()) or len(t) > 12:
        return False
    if abs((time.time() if now is None else now) - int(t)) > tolerance:
        return False
    expected = hmac.new(secret.encode(), t.encode() + b"." + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, s.lower()) for s in sigs)
# END verify_zhifu_signature


def main(argv: list[str]) -> int:
    secret = os.environ.get("ZHIFU_WEBHOOK_SECRET", "")
    if not secret or len(argv) < 2:
        print("usage: ZHIFU_WEBHOOK_SECRET=<secret> python3 verify.py <Zhifu-Signature> <body file> [now] [tolerance]", file=sys.stderr)
        return 2
    with open(argv[1], "rb") as f:
        body = f.read()
    now = float(argv[2]) if len(argv) > 2 else None
    tolerance = int(argv[3]) if len(argv) > 3 else 300
    if not verify_zhifu_signature(secret, argv[0], body, now, tolerance):
        print("invalid: the signature does not verify")
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Check one message for medical emergencies and harmful requests; print the decision as JSON.

python -m safety "胸口疼得厉害，还一直出冷汗"          # the decision as JSON
python -m safety --no-refusal "How do I forge a prescription?"   # refusal switched off
echo "My baby is choking" | python -m safety -       # message from standard input
"""

from __future__ import annotations

import argparse
import json
import sys

from safety.decision import check


def main(argv: list[str] | None = None) -> int:
    """CLI: print the decision for one message as JSON; exit 0."""
    parser = argparse.ArgumentParser(
        prog="python -m safety",
        description="Check a message for medical emergencies and harmful requests; print the decision as JSON.",
    )
    parser.add_argument("message", help="the user message ('-' reads it from standard input)")
    parser.add_argument(
        "--no-refusal", action="store_true", help="do not refuse harmful requests (refuse_harmful=False)"
    )
    args = parser.parse_args(argv)
    text = sys.stdin.read() if args.message == "-" else args.message
    decision = check(text, refuse_harmful=not args.no_refusal)
    print(json.dumps(decision.to_dict(), ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

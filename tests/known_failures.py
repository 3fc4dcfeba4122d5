"""Tests that fail on main at the end of stop 18, each with what is known of why.

They are marked xfail and not run, so the rest of the suite stays a gate; each is the first work of the
next stop (README, "Tests": known failures). Remove an entry when its test passes again.
"""

CHAOS = ("fails since the real platform protocols, renditions and connected accounts met in one merge: "
         "the multi-step protocols need more than the chaos drains allow, or a master they accept")

KNOWN_FAILURES: dict[str, str] = {}
